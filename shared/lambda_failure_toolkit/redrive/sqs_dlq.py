"""Source kind `sqs_dlq`: a DLQ of SQS queues, its messages sent back to the queue each came from
(or to the target override).

A whole DLQ going back with nothing to filter, count or copy is handed to SQS's own
StartMessageMoveTask; anything else is moved by hand, message by message (queue_source).
"""

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from lambda_failure_toolkit.redrive.queue_source import move_by_hand, queue_attributes
from lambda_failure_toolkit.redrive.replays import Attributes, replayed, with_one_more
from lambda_failure_toolkit.redrive.report import MoveTask, Progress, RunStatus
from lambda_failure_toolkit.redrive.request import RedriveRequest, SqsDlqSource
from lambda_failure_toolkit.redrive.run import AWS_ERRORS, Outcome, RunState, Services, reason
from lambda_failure_toolkit.redrive.work import Decision, QueueTarget, Refuse, Skip, Work, parse_json

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["redrive_sqs_dlq"]

_MOVE_TASK_MAX_RATE: Final = 500


def redrive_sqs_dlq(
    services: Services, run: RunState, source: SqsDlqSource, progress: Callable[[Progress], None] | None
) -> Outcome:
    request = run.request
    attributes = queue_attributes(services, source.queue_url)
    override = request.target.queue_url if request.target else None
    # The override's ARN, read before anything moves: it exists and this role may use it.
    destination_arn = queue_attributes(services, override)["QueueArn"] if override else None
    # SQS's own move task reads nothing here: a run that backs up what it moves moves by hand.
    whole_dlq = _move_task_applies(request) and services.backup is None
    if whole_dlq and not request.dry_run:
        task = _start_move_task(services, source, attributes, destination_arn, request.rate_per_second)
        if task is not None:
            return task
    decide = _SqsDlqDecider(services, run, source, override)
    outcome = move_by_hand(services, run, source.queue_url, decide, progress)
    if whole_dlq and request.dry_run and outcome.message is None:
        return Outcome(
            method=outcome.method,
            remaining_in_source=outcome.remaining_in_source,
            message="a dry run: run it with dry_run false and SQS's StartMessageMoveTask moves the whole DLQ "
            "(when every source queue is allowed), or give a filter or max_messages to move it here",
        )
    return outcome


class _SqsDlqDecider:
    """Where each message of the DLQ goes: the override, the queue it came from, or the DLQ's one source."""

    def __init__(self, services: Services, run: RunState, source: SqsDlqSource, override: str | None) -> None:
        self._services = services
        self._request = run.request
        self._override = (
            QueueTarget(override) if override else None
        )  # allow-listed when the request was parsed
        self._default = None if override else _single_source(services, source)
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def __call__(self, message: "MessageTypeDef") -> Decision:
        system = message.get("Attributes", {})
        if not self._request.filter.selects(
            kind=None,
            condition=None,
            error_type=None,
            error_message=None,
            occurred_at=_epoch_ms(system.get("SentTimestamp")),
            payload=lambda: parse_json(message["Body"]),
        ):
            return Skip()
        attributes = dict(message.get("MessageAttributes", {}))
        limit = self._request.max_replays
        if limit is not None and (count := replayed(attributes)) >= limit:
            return self._quarantined(
                message, attributes, f"quarantined: replayed {count} time(s), max_replays is {limit}"
            )
        target = self._override
        if target is None:
            source_arn = system.get("DeadLetterQueueSourceArn")
            target = self._queue_from_arn(source_arn) if source_arn else self._default
            if (
                target is not None
                and self._services.restrict
                and not self._services.targets.allows_queue(target.url)
            ):
                return Refuse(f"target not allowed: {target.url} is not in the allow-list", target.url)
        if target is None:
            return Refuse(
                "no target: the DLQ's source queue is not known (it serves several, or they could not be "
                "listed) and the message does not say; give target.queue_url"
            )
        group_id = system.get("MessageGroupId") or self._request.fifo_message_group_id
        if target.fifo and not group_id:
            return Refuse(
                "no message group: the target is a FIFO queue; give fifo_message_group_id", target.url
            )
        counted = with_one_more(attributes, self._services.now())
        if counted is None:
            self._services.log.warning(
                "no room for the replay count: the message has 10 attributes",
                extra={"id": message["MessageId"]},
            )
        return Work(
            id=message["MessageId"],
            target=target,
            body=message["Body"],
            group=(target.url.rsplit("/", 1)[-1], None, None, None),
            attributes=counted or attributes,
            source_attributes=attributes,
            group_id=group_id if target.fifo else None,
            # The same id for every send of one DLQ message: SQS drops a re-send within 5 minutes.
            dedup_id=f"redrive-{message['MessageId']}"[:128] if target.fifo else None,
            trace_header=system.get("AWSTraceHeader"),
        )

    def _quarantined(self, message: "MessageTypeDef", attributes: Attributes, why: str) -> Decision:
        """To the quarantine queue as it is (its count unchanged), or left in the DLQ without one."""
        url = self._request.quarantine_queue_url
        if url is None:
            return Refuse(f"{why}; left in the DLQ (give quarantine_queue_url to move it)", quarantine=True)
        target = QueueTarget(url)  # allow-listed when the request was parsed
        system = message.get("Attributes", {})
        group_id = system.get("MessageGroupId") or self._request.fifo_message_group_id
        if target.fifo and not group_id:
            return Refuse(
                f"{why}; the quarantine queue is FIFO: give fifo_message_group_id", url, quarantine=True
            )
        return Work(
            id=message["MessageId"],
            target=target,
            body=message["Body"],
            group=(target.url.rsplit("/", 1)[-1], None, None, None),
            attributes=attributes,
            group_id=group_id if target.fifo else None,
            dedup_id=f"quarantine-{message['MessageId']}"[:128] if target.fifo else None,
            trace_header=system.get("AWSTraceHeader"),
            quarantine=True,
        )

    def _queue_from_arn(self, arn: str) -> QueueTarget | None:
        with self._lock:
            if arn in self._urls:
                return QueueTarget(self._urls[arn])
        parts = arn.split(":")
        if len(parts) != 6:
            return None
        try:
            response = self._services.call(
                self._services.sqs.get_queue_url, QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
            )
        except AWS_ERRORS:
            return None  # refused as "no target", and stays in the DLQ
        with self._lock:
            self._urls[arn] = response["QueueUrl"]
        return QueueTarget(response["QueueUrl"])


def _single_source(services: Services, source: SqsDlqSource) -> QueueTarget | None:
    """The one queue whose DLQ this is, when it is one (a DLQ of several names it per message)."""
    try:
        response = services.call(services.sqs.list_dead_letter_source_queues, QueueUrl=source.queue_url)
    except AWS_ERRORS as exc:  # then each message must say where it came from
        services.log.warning("the DLQ's source queues could not be listed", extra={"reason": reason(exc)})
        return None
    urls = response.get("queueUrls", [])
    return QueueTarget(urls[0]) if len(urls) == 1 else None


def _move_task_applies(request: RedriveRequest) -> bool:
    rate = request.rate_per_second
    return (
        request.filter.is_empty
        and request.max_messages is None
        and not request.keep_source
        and request.fifo_message_group_id is None
        and (rate is None or 1 <= rate <= _MOVE_TASK_MAX_RATE)
    )


def _start_move_task(
    services: Services,
    source: SqsDlqSource,
    attributes: dict[str, str],
    destination_arn: str | None,
    rate: float | None,
) -> Outcome | None:
    """SQS's own move, when the DLQ's sources may all be written to; None to move by hand."""
    if destination_arn is None and services.restrict:
        try:
            sources = services.call(services.sqs.list_dead_letter_source_queues, QueueUrl=source.queue_url)
        except AWS_ERRORS:
            return None  # cannot tell where SQS would send them: the manual move checks each one
        urls = sources.get("queueUrls", [])
        if not urls or not all(services.targets.allows_queue(url) for url in urls):
            return None  # each message is checked on its own by the manual move
    arn = attributes["QueueArn"]
    arguments: dict[str, Any] = {"SourceArn": arn}
    if destination_arn:
        arguments["DestinationArn"] = destination_arn
    if rate:
        arguments["MaxNumberOfMessagesPerSecond"] = int(rate)
    try:
        response = services.call(services.sqs.start_message_move_task, **arguments)
    except BotoCoreError as exc:
        return Outcome(
            method="start_message_move_task",
            status=RunStatus.STOPPED,
            stopped_because=f"no answer from SQS: {reason(exc)}",
            message="SQS may or may not have started the move: look with `aws sqs list-message-move-tasks "
            f"--source-arn {arn}` before running this again.",
        )
    except ClientError as exc:
        return Outcome(
            method="start_message_move_task",
            status=RunStatus.REJECTED,
            problems=(reason(exc),),
            message="SQS did not start the move (is one already running? see ListMessageMoveTasks); "
            "nothing was moved.",
        )
    count = attributes.get("ApproximateNumberOfMessages")
    return Outcome(
        method="start_message_move_task",
        status=RunStatus.MOVE_TASK_STARTED,
        move_task=MoveTask(
            task_handle=response["TaskHandle"],
            source_arn=arn,
            destination_arn=destination_arn,
            max_per_second=int(rate) if rate else None,
            approximate_messages=int(count) if count is not None else None,
        ),
        message=f"SQS is moving the messages: follow it with `aws sqs list-message-move-tasks --source-arn {arn}`; "
        "cancel-message-move-task stops it (moves are not undone).",
    )


def _epoch_ms(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC) if value else None
    except ValueError:
        return None

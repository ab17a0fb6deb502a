"""The redrive engine: read failures from a queue or the ledger, deliver each to its target, and only
then remove it from its source.

One engine serves the RedriveFunction and the `dlq` command-line tool. Its guarantees:

- A message leaves its queue only after its target accepted it (SendMessageBatch, entry by entry, or
  Invoke answering 202, or a stream processor answering without error and without batchItemFailures).
- Throttles and transient errors are retried with backoff, never past the deadline; a target's
  permanent refusal fails that message only, and it stays in its queue.
- Messages the run does not move (skipped, failed, dry run, copied) stay invisible while the run
  reads on (so none is read twice) and are made visible again when it ends. If the run crashes, SQS
  makes them visible when their visibility timeout ends: nothing is lost, a duplicate is possible
  (a message sent but not yet deleted), and the next run counts it as a suspected duplicate.
- The run stops cleanly `margin_s` before its deadline and says how to go on (`next_request`).

An SQS DLQ redriven whole, with nothing to filter, count or transform, is handed to SQS's own
StartMessageMoveTask.
"""

import contextlib
import contextvars
import dataclasses
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final, Protocol, cast

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import JsonValue

from lambda_failure_toolkit.failures import (
    FailureKind,
    FailureRecord,
    UnrecognizedFailureError,
    parse_failure,
)
from lambda_failure_toolkit.ledger import (
    FailureLedger,
    LedgerEntry,
    LedgerEntryNotFoundError,
    LedgerError,
    RehydrationStatus,
)
from lambda_failure_toolkit.redrive.report import MoveTask, Progress, RedriveReport, RunStatus, Tally
from lambda_failure_toolkit.redrive.request import (
    DestinationQueueSource,
    LambdaDlqSource,
    LedgerSource,
    RedriveRequest,
    RedriveTargets,
    SqsDlqSource,
)
from lambda_failure_toolkit.retry import (
    Deadline,
    RetryPolicy,
    TransientError,
    deadline_scope,
    error_code,
    error_message,
)

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        MessageAttributeValueTypeDef,
        MessageTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

__all__ = ["DEFAULT_RUN_S", "Redrive", "RedriveSourceError"]

logger = logging.getLogger(__name__)

_BATCH: Final = 10
_MAX_VISIBILITY_S: Final = 43_200
_MOVE_TASK_MAX_RATE: Final = 500
_DEFAULT_RETRY: Final = RetryPolicy(max_attempts=6, base_delay_s=0.2, max_delay_s=10.0)
_ACCEPTED: Final = 202
MAX_MESSAGES_REACHED: Final = "max_messages"
"""`stopped_because` of a run that did what it was asked: it is complete, not stopped."""
DEFAULT_RUN_S: Final = 900.0
"""How long a run may take when its caller gives no deadline (the messages it keeps invisible
while it reads on are so for that long, plus a minute, should it crash)."""

Group = tuple[str | None, str | None, str | None, str | None]


class RedriveSourceError(ValueError):
    """The source (or the target override) cannot be used: nothing was touched."""


class Log(Protocol):
    """Where runs are audited and problems logged: Powertools' Logger in the function."""

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


# ---------------------------------------------------------------- what one failure becomes


@dataclass(frozen=True, slots=True)
class QueueTarget:
    url: str

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class FunctionTarget:
    function: str
    qualifier: str | None = None
    stream: bool = False
    """A stream processor: invoked synchronously with a batch event, as its event source mapping does."""

    def __str__(self) -> str:
        return f"{self.function}:{self.qualifier}" if self.qualifier else self.function


Target = QueueTarget | FunctionTarget


@dataclass(slots=True)
class Work:
    """One failure to deliver: where, what, and how to remove it from its source afterwards."""

    id: str
    target: Target
    body: str
    group: Group
    attributes: dict[str, Any] = field(default_factory=dict)
    group_id: str | None = None
    dedup_id: str | None = None
    receipt_handle: str | None = None
    failure_id: str | None = None
    seen_before: bool = False


@dataclass(frozen=True, slots=True)
class Skip:
    receipt_handle: str | None = None


@dataclass(frozen=True, slots=True)
class Refuse:
    """Not redrivable as it is (no target, nothing to replay, a target outside the allow-list)."""

    id: str
    reason: str
    target: str | None = None
    receipt_handle: str | None = None


Decision = Work | Skip | Refuse


@dataclass(frozen=True, slots=True)
class _Failure:
    """What a filter and a target are decided on: the same for a record read now and a ledger entry."""

    failure_id: str
    kind: FailureKind
    condition: str | None
    function_name: str | None
    function_arn: str | None
    qualifier: str | None
    error_type: str | None
    error_message: str | None
    occurred_at: datetime | None
    has_payload: bool
    payload: JsonValue

    @classmethod
    def of(cls, failure: FailureRecord | LedgerEntry) -> "_Failure":
        if isinstance(failure, FailureRecord):
            error_type = failure.error.type if failure.error else None
            error_message = failure.error.message if failure.error else None
            has_payload, payload = failure.has_payload, failure.payload
        else:
            error_type, error_message = failure.error_type, failure.error_message
            has_payload = failure.has_payload or bool(failure.records)
            payload = {"Records": list(failure.records)} if failure.records else failure.payload
        return cls(
            failure_id=failure.failure_id,
            kind=failure.kind,
            condition=failure.condition,
            function_name=failure.function_name,
            function_arn=failure.function_arn,
            qualifier=failure.qualifier,
            error_type=error_type,
            error_message=error_message,
            occurred_at=failure.occurred_at,
            has_payload=has_payload,
            payload=payload,
        )

    def selected_by(self, request: RedriveRequest) -> bool:
        return request.filter.selects(
            kind=self.kind,
            condition=self.condition,
            error_type=self.error_type,
            error_message=self.error_message,
            occurred_at=self.occurred_at,
            payload=lambda: (self.has_payload, self.payload),
        )

    def group(self, target: Target) -> Group:
        return (str(target), self.function_name, self.condition, self.error_type)


class _EntriesLeftError(TransientError):
    """Some entries of a batch call failed for a reason worth another attempt."""


# ---------------------------------------------------------------- one run


class _Run:
    """The state a run's workers share: counts, the stop flag, the message budget, held messages."""

    def __init__(self, request: RedriveRequest, deadline: Deadline, margin_s: float, log: "Log") -> None:
        self.request = request
        self.log = log
        self.deadline = deadline
        self.margin_s = margin_s
        self.tally = Tally()
        self._lock = threading.Lock()
        self._budget = request.max_messages
        self.claimed = 0
        self.stopped_because: str | None = None
        self.held: list[str] = []
        """Receipt handles of messages the run keeps invisible and releases at the end."""

    def stop(self, because: str) -> None:
        with self._lock:
            if self.stopped_because is None:
                self.stopped_because = because

    def keep_going(self) -> bool:
        if self.stopped_because is None and self.deadline.remaining() <= self.margin_s:
            self.stop(
                f"the deadline: stopped {self.margin_s:.3g} s before the time limit, with the work in hand finished"
            )
        return self.stopped_because is None

    def claim(self, wanted: int) -> int:
        """Take up to `wanted` from the `max_messages` budget."""
        with self._lock:
            if self._budget is None:
                return wanted
            granted = min(wanted, self._budget)
            self._budget -= granted
            self.claimed += granted
            if self._budget == 0 and self.stopped_because is None:
                self.stopped_because = MAX_MESSAGES_REACHED
            return granted

    def following(self, **source_changes: Any) -> dict[str, Any]:
        """The request that goes on where this run stopped (what is left of max_messages)."""
        request = self.request.model_dump(mode="json", exclude_defaults=True)
        request["source"] |= source_changes
        if self.request.max_messages is not None:
            request["max_messages"] = self.request.max_messages - self.claimed
        return request

    def hold(self, handles: list[str]) -> None:
        with self._lock:
            self.held.extend(handles)

    def target_failed(self, item_id: str, target: Target, reason: str) -> None:
        self.log.warning(
            "redrive target refused a message", extra={"id": item_id, "target": str(target), "reason": reason}
        )
        run = self.tally.fail(item_id, str(target), reason, at_target=True)
        if run >= self.request.stop_after_consecutive_failures:
            self.stop(f"{run} consecutive failures at the target (last: {reason})")


class _RateLimit:
    """`rate` per second on average across every worker: each acquisition books its slot in turn."""

    def __init__(
        self, rate: float | None, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()

    def acquire(self, count: int, deadline: Deadline, margin_s: float) -> bool:
        """Wait for `count` slots; False (and nothing booked) when that would pass the deadline."""
        if not self._interval or count == 0:
            return True
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if start - now > deadline.remaining() - margin_s:
                return False
            self._next = start + count * self._interval
        if start > now:
            self._sleep(start - now)
        return True


# ---------------------------------------------------------------- the engine


class Redrive:
    def __init__(
        self,
        *,
        sqs: "SQSClient",
        lambda_client: "LambdaClient",
        ledger: FailureLedger | None = None,
        targets: RedriveTargets,
        restrict_derived_targets: bool = True,
        invoke_identity_arn: Callable[[], str] | None = None,
        retry: RetryPolicy = _DEFAULT_RETRY,
        wait_time_s: int = 1,
        margin_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        log: Log = logger,
    ) -> None:
        """
        Args:
            targets: the allow-list of the deployment: where a target override may point and, with
                `restrict_derived_targets`, where a failure's own target may be (the function's
                case: a forged record in a DLQ must not make it invoke anything else).
            invoke_identity_arn: what to put in a Kinesis record's `invokeIdentityArn` (the ledger
                cannot read it back from the stream); called once, when first needed.
            wait_time_s: the long poll of each receive; the first empty one ends a worker.
            margin_s: how long before the deadline the run stops taking new work.
        """
        self._sqs = sqs
        self._lambda = lambda_client
        self._ledger = ledger
        self._targets = targets
        self._restrict = restrict_derived_targets
        self._identity = invoke_identity_arn
        self._identity_arn: str | None = None
        self._retry = dataclasses.replace(retry, sleep=sleep)
        self._wait = wait_time_s
        self._margin = margin_s
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._log = log
        self._queue_urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def _call(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        """One AWS call, transient errors retried with backoff (on the run's clock) within its deadline."""
        return self._retry.call(fn, **kwargs)

    # ------------------------------------------------------------ entry point

    def run(
        self,
        request: RedriveRequest,
        *,
        deadline: Deadline | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> RedriveReport:
        """Carry out `request` before `deadline` (default: DEFAULT_RUN_S from now).

        Raises RedriveSourceError (nothing touched) when its source or target cannot be used; every
        other problem is in the report."""
        deadline = deadline or Deadline.after(DEFAULT_RUN_S, clock=self._clock)
        run_id = str(uuid.uuid4())
        started_at, started = self._now(), self._clock()
        self._log.info(
            "redrive requested",
            extra={
                "run_id": run_id,
                "requested_by": request.requested_by,
                "request": request.model_dump(mode="json", exclude_defaults=True),
            },
        )
        # A short run keeps a tenth of its time back, not the whole margin.
        run = _Run(request, deadline, min(self._margin, deadline.remaining() / 10), self._log)
        with deadline_scope(deadline):
            fields = self._dispatch(run, progress)
        duration = max(self._clock() - started, 1e-9)
        done = run.tally.report_fields()
        handled = done["would_move"] if request.dry_run else done["moved"]
        status = fields.pop("status", None) or (
            RunStatus.STOPPED
            if run.stopped_because and run.stopped_because != MAX_MESSAGES_REACHED
            else RunStatus.COMPLETE
        )
        report = RedriveReport(
            run_id=run_id,
            status=status,
            dry_run=request.dry_run,
            source=request.describe_source(),
            requested_by=request.requested_by,
            started_at=started_at,
            finished_at=self._now(),
            duration_s=round(duration, 3),
            rate_per_second=round(handled / duration, 1),
            stopped_because=fields.pop("stopped_because", run.stopped_because),
            **done,
            **fields,
        )
        self._log.info(
            "redrive finished",
            extra={
                "run_id": run_id,
                "requested_by": request.requested_by,
                "report": report.model_dump(mode="json", exclude={"failures", "groups"}),
            },
        )
        return report

    def _dispatch(self, run: _Run, progress: Callable[[Progress], None] | None) -> dict[str, Any]:
        source = run.request.source
        if isinstance(source, LedgerSource):
            if self._ledger is None:
                raise RedriveSourceError("a ledger source needs the failure ledger: none is configured here")
            return self._from_ledger(run, source, progress)
        attributes = self._queue_attributes(source.queue_url)
        destination_arn = self._target_queue_arn(run.request)
        whole_dlq = isinstance(source, SqsDlqSource) and self._move_task_applies(run.request)
        if whole_dlq and not run.request.dry_run:
            assert isinstance(source, SqsDlqSource)  # noqa: S101
            task = self._start_move_task(run.request, source, attributes, destination_arn)
            if task is not None:
                return task
        fields = self._from_queue(run, attributes, progress)
        if whole_dlq and run.request.dry_run:
            fields["message"] = (
                "a dry run: run it with dry_run false and SQS's StartMessageMoveTask moves the whole DLQ "
                "(when every source queue is allowed), or give a filter or max_messages to move it here"
            )
        return fields

    # ------------------------------------------------------------ queue sources

    def _queue_attributes(self, url: str) -> dict[str, str]:
        try:
            response = self._call(
                self._sqs.get_queue_attributes,
                QueueUrl=url,
                AttributeNames=["QueueArn", "ApproximateNumberOfMessages"],
            )
        except ClientError as exc:
            raise RedriveSourceError(
                f"cannot read the queue {url} ({error_code(exc)}: {error_message(exc)}): check the URL "
                "and that this role may use it"
            ) from exc
        return {str(name): value for name, value in response.get("Attributes", {}).items()}

    def _target_queue_arn(self, request: RedriveRequest) -> str | None:
        """The override queue's ARN, read before anything moves: it exists and this role may use it."""
        if request.target is None or request.target.queue_url is None:
            return None
        return self._queue_attributes(request.target.queue_url)["QueueArn"]

    def _move_task_applies(self, request: RedriveRequest) -> bool:
        rate = request.rate_per_second
        return (
            request.filter.is_empty
            and request.max_messages is None
            and not request.keep_source
            and request.fifo_message_group_id is None
            and (rate is None or (rate >= 1 and rate <= _MOVE_TASK_MAX_RATE))
        )

    def _start_move_task(
        self,
        request: RedriveRequest,
        source: SqsDlqSource,
        attributes: dict[str, str],
        destination_arn: str | None,
    ) -> dict[str, Any] | None:
        """SQS's own move, when the DLQ's sources may all be written to; None to move by hand."""
        if destination_arn is None and self._restrict:
            try:
                sources = self._call(self._sqs.list_dead_letter_source_queues, QueueUrl=source.queue_url)
            except (ClientError, BotoCoreError):
                return None  # cannot tell where SQS would send them: the manual move checks each one
            urls = sources.get("queueUrls", [])
            if not urls or not all(self._targets.allows_queue(url) for url in urls):
                return None  # each message is checked on its own by the manual move
        rate = request.rate_per_second
        arguments: dict[str, Any] = {"SourceArn": attributes["QueueArn"]}
        if destination_arn:
            arguments["DestinationArn"] = destination_arn
        if rate:
            arguments["MaxNumberOfMessagesPerSecond"] = int(rate)
        try:
            response = self._call(self._sqs.start_message_move_task, **arguments)
        except BotoCoreError as exc:
            return {
                "status": RunStatus.STOPPED,
                "method": "start_message_move_task",
                "stopped_because": f"no answer from SQS: {_reason(exc)}",
                "message": "SQS may or may not have started the move: look with `aws sqs list-message-move-tasks "
                f"--source-arn {attributes['QueueArn']}` before running this again.",
            }
        except ClientError as exc:
            return {
                "status": RunStatus.REJECTED,
                "method": "start_message_move_task",
                "problems": (f"{error_code(exc)}: {error_message(exc)}",),
                "message": "SQS did not start the move (is one already running? see ListMessageMoveTasks); "
                "nothing was moved.",
            }
        count = attributes.get("ApproximateNumberOfMessages")
        return {
            "status": RunStatus.MOVE_TASK_STARTED,
            "method": "start_message_move_task",
            "move_task": MoveTask(
                task_handle=response["TaskHandle"],
                source_arn=attributes["QueueArn"],
                destination_arn=destination_arn,
                max_per_second=int(rate) if rate else None,
                approximate_messages=int(count) if count is not None else None,
            ),
            "message": "SQS is moving the messages: follow it with `aws sqs list-message-move-tasks "
            f"--source-arn {attributes['QueueArn']}`; cancel-message-move-task stops it (moves are not undone).",
        }

    def _from_queue(
        self, run: _Run, attributes: dict[str, str], progress: Callable[[Progress], None] | None
    ) -> dict[str, Any]:
        source = run.request.source
        assert not isinstance(source, LedgerSource)  # noqa: S101 -- dispatched on the source type
        queue_arn = attributes["QueueArn"]
        default_target = (
            self._default_queue_target(source)
            if isinstance(source, SqsDlqSource) and not (run.request.target and run.request.target.queue_url)
            else None
        )
        limit = _RateLimit(run.request.rate_per_second, self._clock, self._sleep)
        visibility = min(_MAX_VISIBILITY_S, math.ceil(run.deadline.remaining()) + 60)

        def worker() -> None:
            while run.keep_going():
                messages = self._receive(run, source.queue_url, visibility)
                if messages is None:
                    return
                decisions = [self._decide(run, message, queue_arn, default_target) for message in messages]
                self._handle(run, decisions, source.queue_url, limit)
                if progress:
                    progress(run.tally.progress())

        try:
            self._in_workers(run, worker)
        finally:  # a bug or Ctrl-C: what the run holds is made visible again all the same
            self._release(source.queue_url, run.held)
        remaining = self._queue_attributes(source.queue_url).get("ApproximateNumberOfMessages")
        fields: dict[str, Any] = {
            "method": "manual",
            "remaining_in_source": int(remaining) if remaining is not None else None,
        }
        if run.stopped_because and run.stopped_because != MAX_MESSAGES_REACHED:
            if run.request.keep_source:
                fields["message"] = (
                    "stopped part way: a copy keeps its source, so running the request again copies the "
                    "same messages again; narrow it with filter.since/until first"
                )
            else:
                fields["next_request"] = run.following()
                fields["message"] = "stopped part way: run next_request (the same source) to go on"
        return fields

    def _receive(self, run: _Run, url: str, visibility: int) -> list["MessageTypeDef"] | None:
        """The next messages, or None when the source is empty or cannot be read."""
        try:
            response = self._call(
                self._sqs.receive_message,
                QueueUrl=url,
                MaxNumberOfMessages=_BATCH,
                VisibilityTimeout=visibility,
                WaitTimeSeconds=self._wait,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=[  # what the redrive reads, no more (each costs on every message)
                    "SentTimestamp",
                    "ApproximateReceiveCount",
                    "DeadLetterQueueSourceArn",
                    "MessageGroupId",
                ],
            )
        except (ClientError, BotoCoreError) as exc:
            run.stop(f"the source queue could not be read: {_reason(exc)}")
            return None
        messages: list[MessageTypeDef] = response.get("Messages", [])
        if not messages:
            return None
        run.tally.add(received=len(messages))
        return messages

    def _default_queue_target(self, source: SqsDlqSource) -> QueueTarget | None:
        """The one queue whose DLQ this is, when it is one (a DLQ of several names it per message)."""
        try:
            response = self._call(self._sqs.list_dead_letter_source_queues, QueueUrl=source.queue_url)
        except (ClientError, BotoCoreError) as exc:  # then each message must say where it came from
            self._log.warning("the DLQ's source queues could not be listed", extra={"reason": _reason(exc)})
            return None
        urls = response.get("queueUrls", [])
        return QueueTarget(urls[0]) if len(urls) == 1 else None

    def _handle(self, run: _Run, decisions: list[Decision], source_url: str, limit: _RateLimit) -> None:
        works: list[Work] = []
        release: list[str] = []
        for decision in decisions:
            if isinstance(decision, Work):
                works.append(decision)
            elif isinstance(decision, Skip):
                run.tally.add(skipped=1)
                release.append(decision.receipt_handle or "")
            else:
                self._log.warning("not redrivable", extra={"id": decision.id, "reason": decision.reason})
                run.tally.fail(decision.id, decision.target, decision.reason, at_target=False)
                release.append(decision.receipt_handle or "")
        granted = run.claim(len(works))
        # Over the budget: back to the queue now, untouched (the run stops taking new messages).
        self._release(source_url, [w.receipt_handle or "" for w in works[granted:]])
        works = works[:granted]
        if run.request.dry_run:
            for work in works:
                run.tally.succeeded(work.group, dry_run=True)
            run.hold(release + [w.receipt_handle or "" for w in works])
            return
        if not limit.acquire(len(works), run.deadline, run.margin_s):
            run.stop("the deadline: the rate limit would have waited past it")
            run.hold(release + [w.receipt_handle or "" for w in works])
            return
        try:
            delivered = self._deliver(run, works)
        except BaseException:
            run.hold(release + [w.receipt_handle or "" for w in works])  # released by the caller's finally
            raise
        accepted = {id(work) for work in delivered}
        run.tally.add(suspected_duplicates=sum(1 for work in delivered if work.seen_before))
        if run.request.keep_source:
            run.hold(release + [w.receipt_handle or "" for w in works])
            return
        run.hold(release + [w.receipt_handle or "" for w in works if id(w) not in accepted])
        self._delete(run, source_url, delivered)

    def _delete(self, run: _Run, url: str, delivered: list[Work]) -> None:
        """Remove what was delivered; a delete that fails leaves a message that was sent: a duplicate."""
        if not delivered:
            return
        entries = {str(i): w for i, w in enumerate(delivered)}
        left = self._batch_call(
            lambda pending: self._sqs.delete_message_batch(
                QueueUrl=url,
                Entries=[{"Id": i, "ReceiptHandle": entries[i].receipt_handle or ""} for i in pending],
            ),
            list(entries),
        )
        for entry_id, reason in left.items():
            work = entries[entry_id]
            run.tally.add(suspected_duplicates=1)
            self._log.warning(
                "redriven but not removed from its source: the next run sends it again",
                extra={"id": work.id, "target": str(work.target), "reason": reason},
            )

    def _release(self, url: str, handles: list[str]) -> None:
        """Make messages visible again now (otherwise SQS does at the end of their visibility timeout)."""
        handles = [h for h in handles if h]
        for start in range(0, len(handles), _BATCH):
            chunk = handles[start : start + _BATCH]

            def release(pending: list[str], chunk: list[str] = chunk) -> Any:
                return self._sqs.change_message_visibility_batch(
                    QueueUrl=url,
                    Entries=[
                        {"Id": i, "ReceiptHandle": chunk[int(i)], "VisibilityTimeout": 0} for i in pending
                    ],
                )

            left = self._batch_call(release, [str(i) for i in range(len(chunk))])
            if left:
                self._log.warning(
                    "messages not made visible again: SQS does when their visibility timeout ends",
                    extra={"count": len(left), "reasons": sorted(set(left.values()))},
                )

    # ------------------------------------------------------------ deciding

    def _decide(
        self, run: _Run, message: "MessageTypeDef", queue_arn: str, default_target: QueueTarget | None
    ) -> Decision:
        source = run.request.source
        handle = message["ReceiptHandle"]
        system = message.get("Attributes", {})
        seen_before = int(system.get("ApproximateReceiveCount", "1")) > 1
        if isinstance(source, SqsDlqSource):
            return self._decide_sqs(run, message, default_target, seen_before)
        try:
            record = parse_failure(message, source=queue_arn)
        except UnrecognizedFailureError as exc:
            return Refuse(message["MessageId"], f"not a failure record: {exc}", receipt_handle=handle)
        if isinstance(source, LambdaDlqSource):
            if record.kind is not FailureKind.DLQ:
                return Refuse(
                    message["MessageId"],
                    f"not a Lambda DLQ message: a {record.kind.value} record; use source type destination_queue",
                    receipt_handle=handle,
                )
            function = (run.request.target.function if run.request.target else None) or source.function
            decision = self._decide_event(run, _Failure.of(record), FunctionTarget(function), message["Body"])
        else:
            assert isinstance(source, DestinationQueueSource)  # noqa: S101
            decision = self._decide_destination(run, record)
        if isinstance(decision, Work):
            decision.id, decision.receipt_handle, decision.seen_before = (
                message["MessageId"],
                handle,
                seen_before,
            )
            return decision
        if isinstance(decision, Refuse):
            return Refuse(message["MessageId"], decision.reason, decision.target, handle)
        return Skip(handle)

    def _decide_sqs(
        self, run: _Run, message: "MessageTypeDef", default_target: QueueTarget | None, seen_before: bool
    ) -> Decision:
        request = run.request
        handle = message["ReceiptHandle"]
        system = message.get("Attributes", {})
        sent = _epoch_ms(system.get("SentTimestamp"))
        if not request.filter.selects(
            kind=None,
            condition=None,
            error_type=None,
            error_message=None,
            occurred_at=sent,
            payload=lambda: _json(message["Body"]),
        ):
            return Skip(handle)
        target: QueueTarget | None
        if request.target and request.target.queue_url:
            target = QueueTarget(request.target.queue_url)  # allow-listed when the request was parsed
        else:
            source_arn = system.get("DeadLetterQueueSourceArn")
            target = self._queue_from_arn(source_arn) if source_arn else default_target
            if target is not None and self._restrict and not self._targets.allows_queue(target.url):
                return Refuse(
                    message["MessageId"],
                    f"target not allowed: {target.url} is not in the allow-list",
                    target.url,
                    handle,
                )
        if target is None:
            return Refuse(
                message["MessageId"],
                "no target: the DLQ's source queue is not known (it serves several, or they could not be "
                "listed) and the message does not say; give target.queue_url",
                receipt_handle=handle,
            )
        group_id = system.get("MessageGroupId") or request.fifo_message_group_id
        if target.fifo and not group_id:
            return Refuse(
                message["MessageId"],
                "no message group: the target is a FIFO queue; give fifo_message_group_id",
                target.url,
                handle,
            )
        return Work(
            id=message["MessageId"],
            target=target,
            body=message["Body"],
            group=(target.url.rsplit("/", 1)[-1], None, None, None),
            attributes=dict(message.get("MessageAttributes", {})),
            group_id=group_id if target.fifo else None,
            # The same id for every send of one DLQ message: SQS drops a re-send within 5 minutes.
            dedup_id=f"redrive-{message['MessageId']}"[:128] if target.fifo else None,
            receipt_handle=handle,
            seen_before=seen_before,
        )

    def _decide_destination(self, run: _Run, record: FailureRecord) -> Decision:
        if record.kind is FailureKind.DLQ:
            return Refuse(record.failure_id, "a Lambda DLQ message: redrive it with source type lambda_dlq")
        if not record.is_failure:
            return Skip()  # an OnSuccess record: nothing to replay
        if record.kind is FailureKind.ASYNC:
            failure = _Failure.of(record)
            return self._decide_event(run, failure, self._function_of(run, failure), None)
        if self._ledger is None:
            return Refuse(
                record.failure_id,
                "a stream failure: its records are in the ledger, which is not configured here",
            )
        try:
            entry = self._ledger.get(record.failure_id)
        except LedgerEntryNotFoundError:
            return Refuse(
                record.failure_id,
                f"a stream failure not in the ledger ({record.failure_id}): the failure consumer reads its "
                "records back from the stream; let it record the failure, then redrive it from the ledger",
            )
        return self._decide_entry(run, entry)

    def _function_of(self, run: _Run, failure: "_Failure", *, stream: bool = False) -> FunctionTarget | None:
        """The target override, or else the function (and qualifier) that failed."""
        if run.request.target and run.request.target.function:
            return FunctionTarget(run.request.target.function, stream=stream)
        if failure.function_arn is None:
            return None
        return FunctionTarget(failure.function_arn, failure.qualifier, stream=stream)

    def _refused_target(self, failure: "_Failure", target: FunctionTarget) -> Refuse | None:
        if self._restrict and not self._targets.allows_function(target.function):
            return Refuse(
                failure.failure_id,
                f"target not allowed: {target.function} is not in the allow-list",
                str(target),
            )
        return None

    def _decide_event(
        self, run: _Run, failure: "_Failure", target: FunctionTarget | None, body: str | None
    ) -> Decision:
        """An async failure or a Lambda DLQ message (from a queue or the ledger): invoke its event again.
        `body`: the event's exact text when the source has it (a DLQ message's body)."""
        if not failure.selected_by(run.request):
            return Skip()
        if target is None:
            return Refuse(
                failure.failure_id,
                "no target: a Lambda DLQ message does not name the function that failed; give target.function",
            )
        if refused := self._refused_target(failure, target):
            return refused
        if not failure.has_payload:
            return Refuse(
                failure.failure_id,
                f"no payload: the record ({failure.condition or 'DLQ'}) does not carry the event, "
                "so there is nothing to replay",
                str(target),
            )
        return Work(
            id=failure.failure_id,
            target=target,
            body=body if body is not None else _dumps(failure.payload),
            group=failure.group(target),
        )

    def _decide_entry(self, run: _Run, entry: LedgerEntry) -> Decision:
        """A ledger entry: its event invoked again, or its stream batch sent to its processor."""
        failure = _Failure.of(entry)
        if entry.kind is not FailureKind.STREAM:
            decision = self._decide_event(run, failure, self._function_of(run, failure), None)
        elif not failure.selected_by(run.request):
            decision = Skip()
        else:
            target = self._function_of(run, failure, stream=True)
            assert target is not None  # noqa: S101 -- a stream record always names its function
            decision = self._refused_target(failure, target) or self._stream_work(entry, failure, target)
        if isinstance(decision, Work):
            decision.failure_id = entry.failure_id
        return decision

    def _stream_work(self, entry: LedgerEntry, failure: "_Failure", target: FunctionTarget) -> Decision:
        if entry.rehydration_status is RehydrationStatus.FROM_PAYLOAD and entry.has_payload:
            event: JsonValue = entry.payload  # an S3 destination's record carried the batch event itself
        elif entry.records:
            event = {"Records": [self._as_delivered(record) for record in entry.records]}
        else:
            reason = f": {entry.rehydration_reason}" if entry.rehydration_reason else ""
            return Refuse(
                entry.failure_id,
                f"no records: the stream's records were not read back ({entry.rehydration_status.value}{reason})",
                str(target),
            )
        return Work(id=entry.failure_id, target=target, body=_dumps(event), group=failure.group(target))

    def _as_delivered(self, record: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if record.get("eventSource") != "aws:kinesis" or "invokeIdentityArn" in record:
            return record
        if self._identity_arn is None and self._identity is not None:
            with self._lock:
                self._identity_arn = self._identity_arn or self._identity()
        return {**record, "invokeIdentityArn": self._identity_arn or ""}

    def _queue_from_arn(self, arn: str) -> QueueTarget | None:
        if arn in self._queue_urls:
            return QueueTarget(self._queue_urls[arn])
        parts = arn.split(":")
        if len(parts) != 6:
            return None
        try:
            url = self._call(self._sqs.get_queue_url, QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])[
                "QueueUrl"
            ]
        except (ClientError, BotoCoreError):
            return None  # refused as "no target", and stays in the DLQ
        self._queue_urls[arn] = url
        return QueueTarget(url)

    # ------------------------------------------------------------ delivering

    def _deliver(self, run: _Run, works: list[Work]) -> list[Work]:
        """Deliver each work to its target; returns those accepted (the others are counted failed)."""
        accepted: list[Work] = []
        by_queue: dict[str, list[Work]] = {}
        for work in works:
            if isinstance(work.target, QueueTarget):
                by_queue.setdefault(work.target.url, []).append(work)
            elif self._invoke(run, work):
                accepted.append(work)
        for url, batch in by_queue.items():
            accepted.extend(self._send(run, url, batch))
        return accepted

    def _send(self, run: _Run, url: str, batch: list[Work]) -> list[Work]:
        entries = {str(i): w for i, w in enumerate(batch)}

        def call(pending: list[str]) -> Any:
            return self._sqs.send_message_batch(
                QueueUrl=url, Entries=[_send_entry(i, entries[i]) for i in pending]
            )

        left = self._batch_call(call, list(entries))
        accepted = []
        for entry_id, work in entries.items():
            if entry_id in left:
                run.target_failed(work.id, work.target, left[entry_id])
            else:
                run.tally.succeeded(work.group, dry_run=False)
                accepted.append(work)
        return accepted

    def _batch_call(self, call: Callable[[list[str]], Any], ids: list[str]) -> dict[str, str]:
        """Call a batch API until every entry succeeded or failed for good; returns id -> reason of
        the entries that did not succeed. Entries SQS blames on the sender fail at once; the others,
        and transient errors of the whole call, are retried with backoff within the deadline."""
        pending = list(ids)
        final: dict[str, str] = {}
        last: dict[str, str] = {}

        def attempt() -> None:
            nonlocal pending, last
            try:
                response = call(pending)
            except (ClientError, BotoCoreError) as exc:
                last = dict.fromkeys(pending, _reason(exc))
                raise
            answered = {entry["Id"] for entry in response.get("Successful", [])}
            again: list[str] = []
            for entry in response.get("Failed", []):
                answered.add(entry["Id"])
                reason = f"{entry.get('Code', 'Failed')}: {entry.get('Message', 'no message')}"
                if entry.get("SenderFault"):
                    final[entry["Id"]] = reason
                else:
                    last[entry["Id"]] = reason
                    again.append(entry["Id"])
            for entry_id in pending:
                if entry_id not in answered:
                    last[entry_id] = "no answer for this entry"
                    again.append(entry_id)
            pending = again
            if pending:
                raise _EntriesLeftError(f"{len(pending)} entries to try again")

        # When the retries run out, or the error is not worth one, what is pending has failed.
        with contextlib.suppress(_EntriesLeftError, ClientError, BotoCoreError):
            self._retry.retrying()(attempt)
        return final | {entry_id: last[entry_id] for entry_id in pending}

    def _invoke(self, run: _Run, work: Work) -> bool:
        target = work.target
        assert isinstance(target, FunctionTarget)  # noqa: S101
        arguments: dict[str, Any] = {
            "FunctionName": target.function,
            "InvocationType": "RequestResponse" if target.stream else "Event",
            "Payload": work.body.encode(),
        }
        if target.qualifier and not _qualified(target.function):
            arguments["Qualifier"] = target.qualifier
        try:
            response = self._call(self._lambda.invoke, **arguments)
        except (ClientError, BotoCoreError) as exc:
            run.target_failed(work.id, target, _reason(exc))
            return False
        problem = _invoke_problem(response, stream=target.stream)
        if problem is not None:
            run.target_failed(work.id, target, problem)
            return False
        run.tally.succeeded(work.group, dry_run=False)
        if work.failure_id and self._ledger is not None:  # decided from a ledger entry
            self._mark(run, work)
        return True

    def _mark(self, run: _Run, work: Work) -> None:
        assert self._ledger is not None  # noqa: S101
        assert work.failure_id is not None  # noqa: S101
        try:
            self._ledger.mark_redriven(work.failure_id, at=self._now())
        except (LedgerError, ClientError, BotoCoreError) as exc:
            run.tally.add(suspected_duplicates=1)
            self._log.warning(
                "redriven but not marked in the ledger: a redrive by filter may send it again",
                extra={"failure_id": work.failure_id, "reason": _reason(exc)},
            )

    # ------------------------------------------------------------ the ledger

    def _from_ledger(
        self, run: _Run, source: LedgerSource, progress: Callable[[Progress], None] | None
    ) -> dict[str, Any]:
        ledger = self._ledger
        assert ledger is not None  # noqa: S101
        limit = _RateLimit(run.request.rate_per_second, self._clock, self._sleep)
        slots = threading.BoundedSemaphore(run.request.concurrency * 2)  # entries read ahead, at most
        crashed: list[BaseException] = []

        def one(failure_id: str) -> None:
            try:
                self._redrive_entry(run, ledger, failure_id, limit)
            except Exception as exc:  # noqa: BLE001 -- a bug, or an error no retry cured: stop, raise below
                crashed.append(exc)
                run.stop(f"an unexpected error: {_reason(exc)}")
            finally:
                slots.release()
                if progress:
                    progress(run.tally.progress())

        entries = self._ledger_entries(ledger, source)
        resume: str | None = None
        not_started: list[str] = []
        with ThreadPoolExecutor(max_workers=run.request.concurrency, thread_name_prefix="redrive") as pool:
            for failure_id, cursor in entries:
                if not run.keep_going() or run.claim(1) == 0:
                    not_started = [failure_id] if source.failure_ids else []
                    break
                run.tally.add(received=1)
                slots.acquire()
                pool.submit(contextvars.copy_context().run, one, failure_id)
                resume = cursor
        if crashed:
            raise crashed[0]
        fields: dict[str, Any] = {"method": "ledger"}
        if run.stopped_because and run.stopped_because != MAX_MESSAGES_REACHED:
            if source.filter is not None:
                fields["next_request"] = run.following(**({"cursor": resume} if resume else {}))
            else:
                fields["next_request"] = run.following(failure_ids=not_started + [i for i, _ in entries])
            fields["message"] = "stopped part way: run next_request to go on"
        return fields

    def _redrive_entry(self, run: _Run, ledger: FailureLedger, failure_id: str, limit: _RateLimit) -> None:
        try:
            entry = ledger.get(failure_id)
        except (LedgerError, ClientError, BotoCoreError) as exc:
            reason = str(exc) if isinstance(exc, LedgerError) else _reason(exc)
            run.tally.fail(failure_id, None, f"not readable from the ledger: {reason}", at_target=False)
            return
        decision = self._decide_entry(run, entry)
        if isinstance(decision, Skip):
            run.tally.add(skipped=1)
        elif isinstance(decision, Refuse):
            run.tally.fail(decision.id, decision.target, decision.reason, at_target=False)
        elif run.request.dry_run:
            run.tally.succeeded(decision.group, dry_run=True)
        elif limit.acquire(1, run.deadline, run.margin_s):
            self._invoke(run, decision)
        else:
            run.stop("the deadline: the rate limit would have waited past it")
            run.tally.fail(
                failure_id, str(decision.target), "not sent: the run stopped at its deadline", at_target=False
            )

    def _ledger_entries(
        self, ledger: FailureLedger, source: LedgerSource
    ) -> Iterator[tuple[str, str | None]]:
        if source.filter is None:
            return ((failure_id, None) for failure_id in dict.fromkeys(source.failure_ids))
        try:
            entries = ledger.entries(source.filter, cursor=source.cursor)
        except LedgerError as exc:  # a cursor the ledger did not issue for this filter
            raise RedriveSourceError(f"source.cursor: {exc}") from exc
        return ((summary.failure_id, cursor) for summary, cursor in entries)

    # ------------------------------------------------------------ threads

    def _in_workers(self, run: _Run, worker: Callable[[], None]) -> None:
        """`worker` in `concurrency` threads. If the caller is interrupted (Ctrl-C) or one raises,
        the others stop after the batch in hand."""
        if run.request.concurrency == 1:
            worker()
            return
        with ThreadPoolExecutor(max_workers=run.request.concurrency, thread_name_prefix="redrive") as pool:
            futures = [
                pool.submit(contextvars.copy_context().run, worker) for _ in range(run.request.concurrency)
            ]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                run.stop("interrupted")
                raise


# ---------------------------------------------------------------- helpers


def _send_entry(entry_id: str, work: Work) -> "SendMessageBatchRequestEntryTypeDef":
    entry: SendMessageBatchRequestEntryTypeDef = {"Id": entry_id, "MessageBody": work.body}
    if work.attributes:
        # What ReceiveMessage returns holds list fields SendMessage refuses: keep the value only.
        entry["MessageAttributes"] = {
            name: cast(
                "MessageAttributeValueTypeDef",
                {k: v for k, v in value.items() if k in {"DataType", "StringValue", "BinaryValue"}},
            )
            for name, value in work.attributes.items()
        }
    if work.group_id:
        entry["MessageGroupId"] = work.group_id
    if work.dedup_id:
        entry["MessageDeduplicationId"] = work.dedup_id
    return entry


def _invoke_problem(response: Any, *, stream: bool) -> str | None:
    if not stream:
        status = response.get("StatusCode")
        return None if status == _ACCEPTED else f"not accepted: Invoke answered {status}"
    body = response["Payload"].read() if "Payload" in response else b""
    if response.get("FunctionError"):
        detail = _json(body.decode(errors="replace"))[1]
        message = detail.get("errorMessage") if isinstance(detail, dict) else None
        return f"the processor failed ({response['FunctionError']}): {message or 'no message'}"
    present, answer = _json(body.decode(errors="replace"))
    failures = answer.get("batchItemFailures") if present and isinstance(answer, dict) else None
    if failures:
        first = failures[0].get("itemIdentifier") if isinstance(failures[0], dict) else None
        return f"the processor reported {len(failures)} record(s) failed again (first: {first})"
    return None


def _dumps(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json(text: str) -> tuple[bool, Any]:
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None


def _epoch_ms(value: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC) if value else None
    except ValueError:
        return None


def _qualified(function: str) -> bool:
    return function.count(":") in {1, 7}


def _reason(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error_message(error)}"
    return f"{type(error).__name__}: {error}"

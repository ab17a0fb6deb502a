"""Source kind `destination_queue`: an on-failure destination queue. An async invocation record's
payload is invoked again on the function (and qualifier) that failed; a stream failure's batch, read
back into the ledger by the failure consumer, is sent to its processor as the batch it received; an
EventBridge rule target's DLQ message (in the consumer's DLQ) goes to the target that missed it."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from lambda_failure_toolkit.failures import FailureKind, UnrecognizedFailureError, parse_failure
from lambda_failure_toolkit.ledger import LedgerEntryNotFoundError
from lambda_failure_toolkit.redrive.decide import Decider
from lambda_failure_toolkit.redrive.queue_source import move_by_hand, queue_attributes
from lambda_failure_toolkit.redrive.report import Progress
from lambda_failure_toolkit.redrive.request import DestinationQueueSource
from lambda_failure_toolkit.redrive.run import Outcome, RunState, Services
from lambda_failure_toolkit.redrive.work import Decision, FailureFacts, Refuse, Skip

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["redrive_destination_queue"]


def redrive_destination_queue(
    services: Services,
    run: RunState,
    source: DestinationQueueSource,
    decider: Decider,
    progress: Callable[[Progress], None] | None,
) -> Outcome:
    queue_arn = queue_attributes(services, source.queue_url)["QueueArn"]

    def decide(message: "MessageTypeDef") -> Decision:
        try:
            record = parse_failure(message, source=queue_arn)
        except UnrecognizedFailureError as exc:
            return Refuse(f"not a failure record: {exc}")
        if record.kind is FailureKind.DLQ:
            return Refuse("a Lambda DLQ message: redrive it with source type lambda_dlq")
        if not record.is_failure:
            return Skip()  # an OnSuccess record: nothing to replay
        if record.kind is FailureKind.ASYNC:
            facts = FailureFacts.of(record)
            return decider.event(facts, decider.function_of(facts))
        if record.kind is FailureKind.DELIVERY:  # a rule target's DLQ message the consumer could not record
            return decider.delivery(FailureFacts.of(record))
        return _stream_failure(services, decider, record.failure_id)

    return move_by_hand(services, run, source.queue_url, decide, progress)


def _stream_failure(services: Services, decider: Decider, failure_id: str) -> Decision:
    """A stream failure's records are in its ledger entry (the failure consumer read them back)."""
    if services.ledger is None:
        return Refuse("a stream failure: its records are in the ledger, which is not configured here")
    try:
        entry = services.ledger.get(failure_id)
    except LedgerEntryNotFoundError:
        return Refuse(
            f"a stream failure not in the ledger ({failure_id}): the failure consumer reads its "
            "records back from the stream; let it record the failure, then redrive it from the ledger"
        )
    return decider.entry(entry)

"""Source kind `lambda_dlq`: a Lambda async DLQ, each body invoked again asynchronously, exactly as it
is, on the function the request names (the message does not say which function failed)."""

from collections.abc import Callable
from typing import TYPE_CHECKING

from lambda_failure_toolkit.failures import FailureKind, UnrecognizedFailureError, parse_failure
from lambda_failure_toolkit.redrive.decide import Decider
from lambda_failure_toolkit.redrive.queue_source import move_by_hand, queue_attributes
from lambda_failure_toolkit.redrive.report import Progress
from lambda_failure_toolkit.redrive.request import LambdaDlqSource
from lambda_failure_toolkit.redrive.run import Outcome, RunState, Services
from lambda_failure_toolkit.redrive.work import Decision, FailureFacts, FunctionTarget, Refuse

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["redrive_lambda_dlq"]


def redrive_lambda_dlq(
    services: Services,
    run: RunState,
    source: LambdaDlqSource,
    decider: Decider,
    progress: Callable[[Progress], None] | None,
) -> Outcome:
    queue_arn = queue_attributes(services, source.queue_url)["QueueArn"]
    function = FunctionTarget(
        (run.request.target.function if run.request.target else None) or source.function
    )

    def decide(message: "MessageTypeDef") -> Decision:
        try:
            record = parse_failure(message, source=queue_arn)
        except UnrecognizedFailureError as exc:
            return Refuse(f"not a failure record: {exc}")
        if record.kind is not FailureKind.DLQ:
            return Refuse(
                f"not a Lambda DLQ message: a {record.kind.value} record; use source type destination_queue"
            )
        return decider.event(FailureFacts.of(record), function, message["Body"])

    return move_by_hand(services, run, source.queue_url, decide, progress)

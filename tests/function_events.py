"""What each function must answer to each of its sample events, starting from empty tables.

Batch expectations name the failed records by their position in the file, and the identifier is
read from the file itself (messageId for SQS, SequenceNumber for streams): one table serves the
in-process handler tests and the `sam local invoke` tier.
"""

from dataclasses import dataclass
from typing import Any

from tests.events import load_event


@dataclass(frozen=True)
class BatchCase:
    function: str
    event: str
    failed: tuple[int, ...]
    env: tuple[tuple[str, str], ...] = ()

    def expected(self) -> dict[str, Any]:
        records = load_event(self.event)["Records"]
        return {"batchItemFailures": [{"itemIdentifier": _identifier(records[i])} for i in self.failed]}


@dataclass(frozen=True)
class AsyncCase:
    event: str
    status: str | None  # "applied" or "rejected"; None when the function raises
    error_type: str

    function = "OrderEventsFunction"


def _identifier(record: dict[str, Any]) -> str:
    if "messageId" in record:
        return str(record["messageId"])
    if "kinesis" in record:
        return str(record["kinesis"]["sequenceNumber"])
    return str(record["dynamodb"]["SequenceNumber"])


BATCH_CASES = [
    BatchCase("SqsOrdersFunction", "sqs/all_good.json", ()),
    BatchCase("SqsOrdersFunction", "sqs/one_poison.json", (1,)),
    BatchCase("SqsOrdersFunction", "sqs/transient_failure.json", (1,)),
    BatchCase("SqsOrdersFunction", "sqs/all_failing.json", (0, 1, 2)),
    BatchCase("SqsFifoOrdersFunction", "sqs-fifo/all_good.json", ()),
    BatchCase("SqsFifoOrdersFunction", "sqs-fifo/failure_mid_batch_two_groups.json", (2, 3, 4)),
    BatchCase(
        "SqsFifoOrdersFunction",
        "sqs-fifo/failure_mid_batch_two_groups.json",
        (2, 4),
        env=(("FIFO_SKIP_GROUP_ON_ERROR", "true"),),
    ),
    BatchCase("SqsFifoOrdersFunction", "sqs-fifo/one_poison.json", (1, 2)),
    BatchCase("SqsFifoOrdersFunction", "sqs-fifo/all_failing.json", (0, 1)),
    BatchCase("KinesisOrdersFunction", "kinesis/all_good.json", ()),
    BatchCase("KinesisOrdersFunction", "kinesis/failure_in_the_middle.json", (2, 3, 4)),
    BatchCase(
        "KinesisOrdersFunction",
        "kinesis/failure_in_the_middle.json",
        (2,),
        env=(("STREAM_FAIL_FAST", "false"),),
    ),
    BatchCase("KinesisOrdersFunction", "kinesis/transient_failure.json", (1, 2)),
    BatchCase("KinesisOrdersFunction", "kinesis/all_failing.json", (0, 1)),
    BatchCase("DynamoDBOrdersFunction", "dynamodb/all_good.json", ()),
    BatchCase("DynamoDBOrdersFunction", "dynamodb/failure_in_the_middle.json", (2, 3, 4)),
    BatchCase("DynamoDBOrdersFunction", "dynamodb/transient_failure.json", (1, 2)),
    BatchCase("DynamoDBOrdersFunction", "dynamodb/all_failing.json", (0, 1)),
    # The failure consumer: every failure recorded; the one message that is no failure record reported.
    BatchCase("FailureConsumerFunction", "failures/failure-queue/async_retries_exhausted.json", ()),
    BatchCase("FailureConsumerFunction", "failures/failure-queue/from_eventbridge.json", ()),
    BatchCase("FailureConsumerFunction", "failures/failure-queue/from_sns.json", ()),
    BatchCase("FailureConsumerFunction", "failures/failure-queue/from_sns_raw_delivery.json", ()),
    BatchCase("FailureConsumerFunction", "failures/failure-queue/mixed_batch.json", (4,)),
    BatchCase("FailureConsumerFunction", "failures/failure-queue/stream_kinesis.json", ()),
]

ASYNC_CASES = [
    AsyncCase("order-events/eventbridge_order_placed.json", "applied", ""),
    AsyncCase("order-events/sns_order_placed.json", "applied", ""),
    AsyncCase("order-events/direct_invoke_order_placed.json", "applied", ""),
    AsyncCase("order-events/poison_eventbridge.json", "rejected", "ValidationError"),
    AsyncCase("order-events/rule_violation_ship_before_placed.json", "rejected", "OrderRuleViolationError"),
    AsyncCase("order-events/transient_out_of_order.json", None, "OutOfOrderEventError"),
]


@dataclass(frozen=True)
class RedriveCase:
    """A sample redrive request against the account tests/redrive_seed.py prepares."""

    event: str
    status: str
    counts: tuple[tuple[str, int], ...] = ()
    """Report fields and their expected values."""
    problem: str = ""
    """Words the first problem of a rejected request must contain."""

    function = "RedriveFunction"

    def check(self, response: dict[str, Any]) -> int:
        """Assert the report against this case; returns how many messages it moved."""
        assert response["status"] == self.status, response
        for name, value in self.counts:
            assert response[name] == value, (name, response)
        if self.problem:
            assert self.problem in response["problems"][0]
        return int(response["moved"]) if self.status != "rejected" else 0


REDRIVE_CASES = [
    RedriveCase("redrive/dry-run-sqs-dlq.json", "complete", (("would_move", 3), ("moved", 0))),
    RedriveCase("redrive/dry-run-lambda-dlq.json", "complete", (("would_move", 1), ("skipped_by_filter", 1))),
    RedriveCase("redrive/dry-run-ledger-by-function.json", "complete", (("would_move", 2),)),
    RedriveCase("redrive/redrive-sqs-dlq.json", "complete", (("moved", 3), ("failed", 0))),
    RedriveCase("redrive/rejected-target-not-allowed.json", "rejected", problem="is not in the allow-list"),
]

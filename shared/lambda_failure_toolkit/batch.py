"""Partial batch processing with AWS's exact semantics, on Powertools' batch utility.

Each processor reports failures through `batchItemFailures` and never raises for a failed record,
even when every record failed: the response then lists them all, which Lambda treats exactly like
a failed batch (SQS: all become visible again and count toward `maxReceiveCount`; streams: Lambda
retries from the first one), while the response stays a precise, testable function of which
records failed.

- `BatchProcessor` (Powertools) for SQS standard, and for streams when order does not matter:
  every record is processed, the failed ones are reported.
- `FifoBatchProcessor`: SQS FIFO. Stops at the first failure and reports it and every record after
  it, or (`skip_group_on_error=True`) only the later records of the failed message groups.
- `FailFastBatchProcessor`: Kinesis and DynamoDB Streams, order-preserving. Stops at the first
  failure and reports it and every record after it: Lambda checkpoints before the lowest reported
  sequence number and delivers everything after it again anyway, so processing further would only
  apply later records before an earlier one.

`process_batch` first checks the envelope: an object whose `Records` is a non-empty list of objects,
each with the identifier a partial batch response names it by. AWS never sends anything else, but
`sam local invoke` or a direct `Invoke` can; such an event is refused whole with
`MalformedBatchEventError` naming the problem, instead of a KeyError or TypeError from inside
Powertools. Everything else wrong with a record is that record's failure, reported like any other.
"""

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    FailureResponse,
    SqsFifoPartialProcessor,
    SuccessResponse,
    process_partial_response,
)

from lambda_failure_toolkit.config import EnvConfig

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.utilities.batch.types import (
        BatchSqsTypeModel,
        BatchTypeModels,
    )
    from aws_lambda_powertools.utilities.typing import LambdaContext

__all__ = [
    "FailFastBatchProcessor",
    "FifoBatchProcessor",
    "FifoConfig",
    "MalformedBatchEventError",
    "SkippedAfterFailureError",
    "StreamConfig",
    "batch_records",
    "fifo_processor",
    "process_batch",
    "stream_processor",
]


class StreamConfig(EnvConfig):
    """STREAM_FAIL_FAST=false processes every record of a stream batch (order does not matter)."""

    STREAM_FAIL_FAST: bool = True


class FifoConfig(EnvConfig):
    """FIFO_SKIP_GROUP_ON_ERROR=true reports only the failed message groups' later messages."""

    FIFO_SKIP_GROUP_ON_ERROR: bool = False


class MalformedBatchEventError(ValueError):
    """The event is not a batch of the event source the function reads (nothing was processed).

    Attributes:
        problem: what is wrong, and where (`Records[2].messageId is missing`).
        expected: what the function reads.
    """

    def __init__(self, source: str, problem: str, expected: str) -> None:
        self.problem = problem
        self.expected = expected
        super().__init__(
            f"not a {source} batch event: {problem}; expected {expected}. Lambda never sends this: "
            "check the event given to `sam local invoke` or `Invoke`. Nothing was processed."
        )


# Per event source: its name, what a record is, and the path to the identifier a response names it by.
_BATCH_SOURCES: Final[dict[EventType, tuple[str, str, tuple[str, ...]]]] = {
    EventType.SQS: ("SQS", "an SQS message", ("messageId",)),
    EventType.KinesisDataStreams: ("Kinesis", "a Kinesis record", ("kinesis", "sequenceNumber")),
    EventType.DynamoDBStreams: (
        "DynamoDB Streams",
        "a DynamoDB stream record",
        ("dynamodb", "SequenceNumber"),
    ),
}


def batch_records(event: object, event_type: EventType) -> list[dict[str, Any]]:
    """The records of a batch event, each checked to carry its identifier.

    Raises:
        MalformedBatchEventError: the event is not an object, has no `Records` list, the list is
            empty, or a record is not an object or lacks a non-empty string identifier (without
            one it cannot be reported, and Lambda fails the whole batch on an empty identifier).
    """
    path = _BATCH_SOURCES[event_type][2]
    if not isinstance(event, dict):
        raise _malformed(event_type, f"the event is {_kind(event)}, not an object")
    if "Records" not in event:
        raise _malformed(event_type, f"the event has no Records (its keys: {_keys(event)})")
    records = event["Records"]
    if not isinstance(records, list):
        raise _malformed(event_type, f"Records is {_kind(records)}, not a list")
    if not records:
        raise _malformed(event_type, "Records is empty")
    # Inlined for one or two keys: this runs for every record of every batch.
    block, key = path if len(path) == 2 else (None, path[0])
    for index, item in enumerate(records):
        holder = item.get(block) if block is not None and isinstance(item, dict) else item
        if not (isinstance(holder, dict) and isinstance(found := holder.get(key), str) and found):
            raise _malformed(event_type, _identifier_problem(f"Records[{index}]", item, path))
    return records


def _malformed(event_type: EventType, problem: str) -> MalformedBatchEventError:
    source, record, path = _BATCH_SOURCES[event_type]
    expected = f'{{"Records": [...]}}, each record {record} with {".".join(path)}'
    return MalformedBatchEventError(source, problem, expected)


def _identifier_problem(where: str, value: object, path: tuple[str, ...]) -> str:
    """What is wrong on the way from a record to its identifier (worked out again, only on failure)."""
    for key in path:
        if not isinstance(value, dict):
            return f"{where} is {_kind(value)}, not an object"
        where = f"{where}.{key}"
        if key not in value:
            return f"{where} is missing"
        value = value[key]
    return f"{where} is {_kind(value)}, not a non-empty string"


_JSON_KINDS: Final[dict[type, str]] = {
    type(None): "null",
    bool: "a boolean",
    int: "a number",
    float: "a number",
    dict: "an object",
}


def _kind(value: object) -> str:
    """The type of a value in JSON's words, never its content (it goes into logs)."""
    if isinstance(value, str):
        return f"a string of {len(value)} characters" if value else "an empty string"
    if isinstance(value, list):
        return f"a list of {len(value)} items"
    return _JSON_KINDS.get(type(value), f"a {type(value).__name__}")


def _keys(event: dict[Any, Any]) -> str:
    if not event:
        return "none"
    keys = sorted(str(key)[:40] for key in event)
    return ", ".join(keys[:8]) + (", ..." if len(keys) > 8 else "")


class SkippedAfterFailureError(Exception):
    """Reported for a record left unprocessed because an earlier one (of its group) failed."""


def _skipped(reason: str) -> tuple[type[SkippedAfterFailureError], SkippedAfterFailureError, None]:
    return SkippedAfterFailureError, SkippedAfterFailureError(reason), None


class FailFastBatchProcessor(BatchProcessor):
    """Order-preserving stream processing: nothing after a failed record is processed."""

    def __init__(
        self,
        event_type: EventType,
        model: "BatchTypeModels | None" = None,
        logger: logging.Logger | None = None,
    ) -> None:
        if event_type not in {EventType.KinesisDataStreams, EventType.DynamoDBStreams}:
            raise ValueError(f"fail-fast is for Kinesis and DynamoDB Streams, not {event_type}")
        super().__init__(event_type, model, raise_on_entire_batch_failure=False, logger=logger)

    def _process_record(self, record: dict[str, Any]) -> SuccessResponse | FailureResponse:
        if self.fail_messages:
            # Converted without the model: a poison record here must be reported, not crash the batch.
            return self.failure_handler(
                record=self._to_batch_type(record, event_type=self.event_type),
                exception=_skipped("an earlier record of the batch failed"),
            )
        return super()._process_record(record)


class FifoBatchProcessor(SqsFifoPartialProcessor):
    """Powertools' FIFO processor, made safe for poison records after a failure, and never raising."""

    def __init__(
        self,
        model: "BatchSqsTypeModel | None" = None,
        *,
        skip_group_on_error: bool = False,
        logger: logging.Logger | None = None,
    ) -> None:
        super().__init__(model=model, skip_group_on_error=skip_group_on_error, logger=logger)
        self.raise_on_entire_batch_failure = False

    def _process_record(self, record: dict[str, Any]) -> SuccessResponse | FailureResponse:
        # Read defensively: a message whose attributes are not what SQS sends is reported by the
        # model's validation below, not allowed to crash the batch here.
        attributes = record.get("attributes")
        found = attributes.get("MessageGroupId") if isinstance(attributes, dict) else None
        group = found if isinstance(found, str) else None
        self._current_group_id = group  # type: ignore[assignment]  # Powertools types it as None only
        broken = group in self._failed_group_ids if self._skip_group_on_error else bool(self.fail_messages)
        if broken:
            return self.failure_handler(
                record=self._to_batch_type(record, event_type=self.event_type),
                exception=_skipped("an earlier message of its group failed"),
            )
        # Skip the FIFO parent's own check (done above), not BatchProcessor's processing.
        return super(SqsFifoPartialProcessor, self)._process_record(record)


def process_batch(
    event: dict[str, Any],
    context: "LambdaContext",
    processor: BatchProcessor,
    record_handler: Callable[[Any], Any],
    metrics: "Metrics",
) -> dict[str, Any]:
    """Run a batch through `processor` and count what it did: records failed (reported for
    redelivery) and records done. Returns the partial batch response.

    Raises:
        MalformedBatchEventError: the event is not a batch of the processor's event source.
    """
    records = batch_records(event, processor.event_type)
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="BatchRecordsFailed", unit=MetricUnit.Count, value=failed)
    metrics.add_metric(name="BatchRecordsSucceeded", unit=MetricUnit.Count, value=len(records) - failed)
    return dict(response)


@functools.cache
def stream_processor(
    event_type: EventType, model: "BatchTypeModels", *, fail_fast: bool, logger: logging.Logger | None = None
) -> BatchProcessor:
    """The processor for a Kinesis or DynamoDB stream, fail-fast or every record; one per setting
    for the life of the execution environment (Powertools resets a processor for each batch)."""
    if fail_fast:
        return FailFastBatchProcessor(event_type, model=model, logger=logger)
    return BatchProcessor(event_type, model=model, raise_on_entire_batch_failure=False, logger=logger)


@functools.cache
def fifo_processor(
    model: "BatchSqsTypeModel", *, skip_group_on_error: bool, logger: logging.Logger | None = None
) -> FifoBatchProcessor:
    """The SQS FIFO processor for a setting, built once (see `stream_processor`)."""
    return FifoBatchProcessor(model=model, skip_group_on_error=skip_group_on_error, logger=logger)

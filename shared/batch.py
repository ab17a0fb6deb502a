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
"""

import functools
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    FailureResponse,
    SqsFifoPartialProcessor,
    SuccessResponse,
    process_partial_response,
)

from shared.config import EnvConfig

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
    "SkippedAfterFailureError",
    "StreamConfig",
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
        group = record.get("attributes", {}).get("MessageGroupId")
        self._current_group_id = group
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
    redelivery) and records done. Returns the partial batch response."""
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    failed = len(response.get("batchItemFailures", []))
    metrics.add_metric(name="BatchRecordsFailed", unit=MetricUnit.Count, value=failed)
    metrics.add_metric(
        name="BatchRecordsSucceeded", unit=MetricUnit.Count, value=len(event.get("Records", [])) - failed
    )
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

"""An SQS standard batch whose records are handled by a few threads at once, on Powertools' batch utility.

On AWS each call the failure consumer makes for a record (the ledger's conditional put, a stream
read-back) waits 5 to 20 ms on the network: one record after another, a batch of 10 costs ten of
those waits back to back. `ConcurrentBatchProcessor` is Powertools' `BatchProcessor` with one change,
its `process`: the batch's records are handed to up to `workers` threads, each record still through
Powertools' own `_process_record` (its model, its success and failure handlers), so the partial batch
response is exactly the sequential one: every record that raised, and only those, in
`batchItemFailures`, in the batch's order.

Only for SQS standard queues, whose records have no order to keep (a FIFO queue or a stream does:
`FifoBatchProcessor`, `FailFastBatchProcessor`). The record handler must be safe to run on several
threads at once: boto3 clients are; a boto3 resource's condition builder is not (decision log 66).
Each record runs in a copy of the caller's context, so that the invocation's deadline (a context
variable, `with_invocation_deadline`) and the logger's keys go along to the worker threads.
"""

import contextvars
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.batch.types import BatchSqsTypeModel

__all__ = ["ConcurrentBatchProcessor"]


class ConcurrentBatchProcessor(BatchProcessor):
    """SQS standard: up to `workers` records of a batch handled at once; never raises for a failed record."""

    def __init__(
        self,
        workers: int,
        model: "BatchSqsTypeModel | None" = None,
        *,
        logger: logging.Logger | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers is how many records are handled at once, at least 1, not {workers}")
        super().__init__(EventType.SQS, model, raise_on_entire_batch_failure=False, logger=logger)
        self.workers = workers

    def process(self) -> list[tuple[Any, ...]]:
        if self.workers == 1 or len(self.records) < 2:
            return super().process()
        with ThreadPoolExecutor(
            max_workers=min(self.workers, len(self.records)), thread_name_prefix="batch-record"
        ) as pool:
            # One copy of the context per record: a context cannot be entered by two threads at once.
            futures = [
                pool.submit(contextvars.copy_context().run, self._process_record, record)
                for record in self.records
            ]
            results: list[tuple[Any, ...]] = [future.result() for future in futures]
        # The handlers appended as the threads finished: put both lists back in the batch's order.
        self.success_messages = [record for status, _, record in results if status == "success"]
        self.fail_messages = [record for status, _, record in results if status == "fail"]
        return results

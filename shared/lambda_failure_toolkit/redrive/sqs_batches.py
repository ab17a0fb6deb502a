"""SQS batch calls: sends sized by bytes, deletes, and messages made visible again.

Every batch API answers entry by entry. Entries SQS blames on the sender fail at once; the others,
and transient errors of the whole call, are retried with backoff within the deadline. A send is
split into calls of at most 10 entries and 1 MiB (SQS's limit for a batch's messages together, since
a message alone may be 1 MiB), and split again when SQS still finds it too long (it counts attributes
in ways the engine can only estimate).
"""

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Final, cast

from botocore.exceptions import ClientError

from lambda_failure_toolkit.redrive.run import AWS_ERRORS, Log, reason
from lambda_failure_toolkit.redrive.work import Work
from lambda_failure_toolkit.retry import RetryPolicy, TransientError, error_code

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import (
        MessageAttributeValueTypeDef,
        MessageSystemAttributeValueTypeDef,
        SendMessageBatchRequestEntryTypeDef,
    )

__all__ = ["MAX_BATCH_BYTES", "MAX_ENTRIES", "SqsBatches"]

MAX_ENTRIES: Final = 10
MAX_BATCH_BYTES: Final = 1_048_576
_TOO_LONG: Final = frozenset({"AWS.SimpleQueueService.BatchRequestTooLong", "BatchRequestTooLong"})


class _EntriesLeftError(TransientError):
    """Some entries of a batch call failed for a reason worth another attempt."""


class SqsBatches:
    def __init__(self, sqs: "SQSClient", retry: RetryPolicy, log: Log) -> None:
        self._sqs = sqs
        self._retry = retry
        self._log = log

    def send(self, url: str, works: list[Work]) -> list[str | None]:
        """Send each work to the queue at `url`; for each, None when SQS accepted it, else why not."""
        results: list[str | None] = [None] * len(works)
        for chunk in _sized(works):
            self._send(url, works, chunk, results)
        return results

    def delete(self, url: str, handles: list[str]) -> dict[str, str]:
        """Delete by receipt handle; returns handle -> reason for those not deleted."""
        left: dict[str, str] = {}
        for start in range(0, len(handles), MAX_ENTRIES):
            left |= self._by_handle(self._sqs.delete_message_batch, url, handles[start : start + MAX_ENTRIES])
        return left

    def release(self, url: str, handles: list[str]) -> None:
        """Make messages visible again now (otherwise SQS does at the end of their visibility timeout)."""
        left: dict[str, str] = {}
        for start in range(0, len(handles), MAX_ENTRIES):
            left |= self._by_handle(
                self._sqs.change_message_visibility_batch,
                url,
                handles[start : start + MAX_ENTRIES],
                VisibilityTimeout=0,
            )
        if left:
            self._log.warning(
                "messages not made visible again: SQS does when their visibility timeout ends",
                extra={"count": len(left), "reasons": sorted(set(left.values()))},
            )

    def _call(
        self, call: Callable[[list[str]], Any], ids: list[str], *, split_too_long: bool = False
    ) -> dict[str, str]:
        """Call a batch API until every entry succeeded or failed for good; returns id -> reason of the
        entries that did not succeed. With `split_too_long`, SQS's BatchRequestTooLong is raised."""
        pending = list(ids)
        final: dict[str, str] = {}
        last: dict[str, str] = {}

        def attempt() -> None:
            nonlocal pending
            try:
                response = call(pending)
            except AWS_ERRORS as exc:
                last.update(dict.fromkeys(pending, reason(exc)))
                raise
            answered = {entry["Id"] for entry in response.get("Successful", [])}
            again: list[str] = []
            for entry in response.get("Failed", []):
                answered.add(entry["Id"])
                problem = f"{entry.get('Code', 'Failed')}: {entry.get('Message', 'no message')}"
                if entry.get("SenderFault"):
                    final[entry["Id"]] = problem
                else:
                    last[entry["Id"]] = problem
                    again.append(entry["Id"])
            for entry_id in pending:
                if entry_id not in answered:
                    last[entry_id] = "no answer for this entry"
                    again.append(entry_id)
            pending = again
            if pending:
                raise _EntriesLeftError(f"{len(pending)} entries to try again")

        # When the retries run out, or the error is not worth one, what is pending has failed.
        try:
            with contextlib.suppress(_EntriesLeftError):
                self._retry.retrying()(attempt)
        except AWS_ERRORS as exc:
            if split_too_long and isinstance(exc, ClientError) and error_code(exc) in _TOO_LONG:
                raise  # the caller splits the batch
        return final | {entry_id: last[entry_id] for entry_id in pending}

    def _by_handle(
        self, operation: Callable[..., Any], url: str, handles: list[str], **per_entry: Any
    ) -> dict[str, str]:
        left = self._call(
            lambda pending: operation(
                QueueUrl=url,
                Entries=[{"Id": i, "ReceiptHandle": handles[int(i)], **per_entry} for i in pending],
            ),
            [str(i) for i in range(len(handles))],
        )
        return {handles[int(i)]: problem for i, problem in left.items()}

    def _send(self, url: str, works: list[Work], chunk: list[int], results: list[str | None]) -> None:
        try:
            left = self._call(
                lambda pending: self._sqs.send_message_batch(
                    QueueUrl=url, Entries=[_send_entry(i, works[int(i)]) for i in pending]
                ),
                [str(i) for i in chunk],
                split_too_long=True,
            )
        except ClientError as exc:  # SQS found the batch too long: halves, until one message alone
            if len(chunk) == 1:
                results[chunk[0]] = reason(exc)
                return
            half = len(chunk) // 2
            self._send(url, works, chunk[:half], results)
            self._send(url, works, chunk[half:], results)
            return
        for entry_id, problem in left.items():
            results[int(entry_id)] = problem


def _sized(works: list[Work]) -> Iterator[list[int]]:
    """Indexes of `works` in order, in chunks SQS takes: 10 entries and 1 MiB at most."""
    chunk: list[int] = []
    size = 0
    for index, work in enumerate(works):
        entry_size = _size(work)
        if chunk and (len(chunk) == MAX_ENTRIES or size + entry_size > MAX_BATCH_BYTES):
            yield chunk
            chunk, size = [], 0
        chunk.append(index)
        size += entry_size
    if chunk:
        yield chunk


def _size(work: Work) -> int:
    """A message's size as SQS counts it: the body, and each attribute's name, type and value."""
    size = len(work.body.encode())
    for name, value in work.attributes.items():
        data = value.get("StringValue") or value.get("BinaryValue") or ""
        size += len(name.encode()) + len(value.get("DataType", "").encode()) + len(data)
    return size


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
    if work.trace_header:
        trace: MessageSystemAttributeValueTypeDef = {"DataType": "String", "StringValue": work.trace_header}
        entry["MessageSystemAttributes"] = {"AWSTraceHeader": trace}
    if work.group_id:
        entry["MessageGroupId"] = work.group_id
    if work.dedup_id:
        entry["MessageDeduplicationId"] = work.dedup_id
    return entry

"""The failure consumer's work: each failure record AWS wrote becomes one ledger entry.

`FailureConsumer.consume` takes one message of the failure queue (any envelope `parse_failure`
peels, or an S3 event notification naming destination objects) and returns what it did with each
failure in it. Anything it cannot read raises: the batch reports the message, SQS delivers it
again, and after `maxReceiveCount` moves it to the consumer's DLQ. Nothing is dropped.

It also reads the DLQs of EventBridge rule targets and SNS subscriptions (the first hop), each a
source of its own (`first_hop_dlqs`): their messages are the only capture of an event that never
reached its function, so here, unlike a Lambda or SQS DLQ, the ledger keeps the event for the redrive.
"""

import dataclasses
import json
from collections.abc import Callable, Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_plus

from lambda_failure_toolkit.failures import (
    FailureKind,
    FailureRecord,
    UnrecognizedFailureError,
    UnrecognizedReason,
    parse_failure,
)
from lambda_failure_toolkit.ledger.models import LedgerEntry, Rehydration
from lambda_failure_toolkit.ledger.rehydrate import StreamRehydrator
from lambda_failure_toolkit.ledger.report import Consumed, ConsumedAs, first_hop_advice
from lambda_failure_toolkit.ledger.store import FailureLedger
from lambda_failure_toolkit.retry import RetryPolicy

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["FailureConsumer", "ledger_entry"]

_ERROR_MESSAGE_LIMIT: Final = 1024
"""Of the error message kept in the summary (the whole message stays in the body's response)."""
_ERROR_TYPE_LIMIT: Final = 256


def ledger_entry(failure: FailureRecord, rehydration: Rehydration, *, recorded_at: datetime) -> LedgerEntry:
    error = failure.error
    return LedgerEntry(
        failure_id=failure.failure_id,
        kind=failure.kind,
        condition=failure.condition,
        function_name=failure.function_name,
        function_arn=failure.function_arn,
        qualifier=failure.qualifier,
        source_arn=failure.source_arn,
        request_id=failure.request_id,
        attempts=failure.attempts,
        occurred_at=failure.occurred_at or recorded_at,
        recorded_at=recorded_at,
        error_type=error.type[:_ERROR_TYPE_LIMIT] if error and error.type else None,
        error_message=error.message[:_ERROR_MESSAGE_LIMIT] if error and error.message else None,
        function_error=error.function_error if error else None,
        status_code=error.status_code if error else None,
        stack_trace=error.stack_trace if error else (),
        delivery=failure.delivery,
        stream=failure.stream,
        payload=failure.payload,
        has_payload=failure.has_payload,
        payload_json=failure.payload_json,
        response_payload=failure.response_payload,
        records=rehydration.records,
        rehydration_status=rehydration.status,
        rehydration_reason=rehydration.reason,
        first_hop=failure.first_hop,
    )


class FailureConsumer:
    def __init__(
        self,
        ledger: FailureLedger,
        rehydrator: StreamRehydrator,
        s3: "S3Client",
        *,
        first_hop_dlqs: Collection[str] = frozenset(),
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
    ) -> None:
        """`first_hop_dlqs`: the ARNs of the rule targets' and subscriptions' DLQs this consumer reads."""
        self._ledger = ledger
        self._first_hop_dlqs = frozenset(first_hop_dlqs)
        self._rehydrator = rehydrator
        self._s3 = s3
        self._clock = clock
        self._retry = retry or RetryPolicy()

    def consume(self, message: Mapping[str, Any]) -> list[Consumed]:
        """Record every failure `message` holds (one, or one per object of an S3 notification)."""
        try:
            failures = [parse_failure(message, first_hop_dlqs=self._first_hop_dlqs)]
        except UnrecognizedFailureError as error:
            if _is_s3_test_event(message):
                return [Consumed(ConsumedAs.IGNORED, None)]
            if error.reason is not UnrecognizedReason.S3_NOTIFICATION:
                raise
            failures = list(self._objects_named(message))
        return [self._record(failure) for failure in failures]

    def _record(self, failure: FailureRecord) -> Consumed:
        if not failure.is_failure:
            return Consumed(ConsumedAs.IGNORED, failure.failure_id, failure.function_name, failure.condition)
        error_type = failure.error.type if failure.error else None
        duplicate = Consumed(
            ConsumedAs.DUPLICATE, failure.failure_id, failure.function_name, failure.condition, error_type
        )
        # Reading a stream back costs calls and time: a redelivered pointer is skipped before.
        if failure.kind is FailureKind.STREAM and self._ledger.exists(failure.failure_id):
            return duplicate
        rehydration = self._rehydrator.rehydrate(failure)
        entry = ledger_entry(failure, rehydration, recorded_at=self._clock())
        body_location = self._ledger.record(entry)
        if body_location is None:
            return duplicate
        return dataclasses.replace(
            duplicate,
            outcome=ConsumedAs.RECORDED,
            rehydration=rehydration.status,
            body_location=body_location,
            payload=entry.payload_status,
            advice=first_hop_advice(failure),
        )

    def _objects_named(self, message: Mapping[str, Any]) -> Iterable[FailureRecord]:
        """The failure records in the S3 objects an S3 event notification names (sent by S3 to the
        queue, or to an SNS topic the queue subscribes to)."""
        notification = json.loads(str(message.get("body", "{}")))
        if "Records" not in notification:  # S3 -> SNS -> SQS: the notification is the SNS Message
            notification = json.loads(notification["Message"])
        for record in notification["Records"]:
            bucket = record["s3"]["bucket"]["name"]
            key = unquote_plus(record["s3"]["object"]["key"])  # S3 notifications URL-encode keys
            body = self._retry.call(self._s3.get_object, Bucket=bucket, Key=key)["Body"].read()
            yield parse_failure(body, source=f"s3://{bucket}/{key}")


def _is_s3_test_event(message: Mapping[str, Any]) -> bool:
    """S3 sends `s3:TestEvent` to a queue when a notification is configured: nothing to record."""
    try:
        body = json.loads(str(message.get("body", "")))
    except ValueError:
        return False
    return isinstance(body, dict) and body.get("Event") == "s3:TestEvent"

"""The failure consumer's work: each failure record AWS wrote becomes one ledger entry.

`FailureConsumer.consume` takes one message of the failure queue (any envelope `parse_failure`
peels, or an S3 event notification naming destination objects) and returns what it did with each
failure in it. Anything it cannot read raises: the batch reports the message, SQS delivers it
again, and after `maxReceiveCount` moves it to the consumer's DLQ. Nothing is dropped.

`BatchReport` gathers a batch's outcomes into metrics and one alert (`AlertPublisher`).
"""

import dataclasses
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_plus

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambda_failure_toolkit.failures import (
    FailureKind,
    FailureRecord,
    UnrecognizedFailureError,
    UnrecognizedReason,
    parse_failure,
)
from lambda_failure_toolkit.ledger.models import LedgerEntry, Rehydration, RehydrationStatus
from lambda_failure_toolkit.ledger.rehydrate import StreamRehydrator
from lambda_failure_toolkit.ledger.store import FailureLedger
from lambda_failure_toolkit.retry import RetryPolicy

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient

__all__ = [
    "AlertPublisher",
    "BatchReport",
    "Consumed",
    "ConsumedAs",
    "FailureConsumer",
    "ledger_entry",
]

_ERROR_MESSAGE_LIMIT: Final = 1024
"""Of the error message kept in the summary (the whole message stays in the body's response)."""
_ERROR_TYPE_LIMIT: Final = 256
_NONE: Final = "none"
"""Dimension value for a missing function, condition or error type (CloudWatch refuses empty values)."""


class ConsumedAs(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    """Already in the ledger: a redelivery, or the same failure through a second channel."""
    IGNORED = "ignored"
    """Not a failure: an async Success record, or S3's test notification."""


@dataclass(frozen=True)
class Consumed:
    outcome: ConsumedAs
    failure_id: str | None
    function_name: str | None = None
    condition: str | None = None
    error_type: str | None = None
    rehydration: RehydrationStatus = RehydrationStatus.NOT_APPLICABLE
    body_location: str | None = None


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
    )


class FailureConsumer:
    def __init__(
        self,
        ledger: FailureLedger,
        rehydrator: StreamRehydrator,
        s3: "S3Client",
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        retry: RetryPolicy | None = None,
    ) -> None:
        self._ledger = ledger
        self._rehydrator = rehydrator
        self._s3 = s3
        self._clock = clock
        self._retry = retry or RetryPolicy()

    def consume(self, message: Mapping[str, Any]) -> list[Consumed]:
        """Record every failure `message` holds (one, or one per object of an S3 notification)."""
        try:
            failures = [parse_failure(message)]
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
        body_location = self._ledger.record(ledger_entry(failure, rehydration, recorded_at=self._clock()))
        if body_location is None:
            return duplicate
        return dataclasses.replace(
            duplicate,
            outcome=ConsumedAs.RECORDED,
            rehydration=rehydration.status,
            body_location=body_location,
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


@dataclass
class BatchReport:
    """What one consumer batch did: counted for metrics, told in one alert."""

    consumed: list[Consumed] = field(default_factory=list)
    unreadable: int = 0
    """Messages the consumer could not record (retried, then kept in its DLQ)."""
    newly_unreadable: int = 0
    """Of those, the ones received for the first time: a message is alerted on once, not at
    every redelivery (its arrival in the DLQ has an alarm of its own)."""

    def add(self, consumed: Iterable[Consumed]) -> None:
        self.consumed.extend(consumed)

    def of(self, outcome: ConsumedAs) -> list[Consumed]:
        return [item for item in self.consumed if item.outcome is outcome]

    @property
    def lost_stream_records(self) -> list[Consumed]:
        return [
            item
            for item in self.of(ConsumedAs.RECORDED)
            if item.rehydration
            in {RehydrationStatus.PARTIAL, RehydrationStatus.EXPIRED, RehydrationStatus.UNREADABLE}
        ]

    @property
    def worth_alerting(self) -> bool:
        return bool(self.of(ConsumedAs.RECORDED) or self.newly_unreadable)

    def by_group(self) -> Counter[tuple[str, str, str]]:
        return Counter(
            (item.function_name or _NONE, item.condition or _NONE, item.error_type or _NONE)
            for item in self.of(ConsumedAs.RECORDED)
        )

    def publish_metrics(self, metrics: "Metrics") -> None:
        """Counts per function, condition and error type (one EMF document each), and the batch's totals."""
        for (function_name, condition, error_type), count in sorted(self.by_group().items()):
            with single_metric(
                name="FailuresRecorded",
                unit=MetricUnit.Count,
                value=count,
                namespace=metrics.namespace,
                default_dimensions={
                    "FunctionName": function_name[:255],
                    "Condition": condition[:255],
                    "ErrorType": error_type[:255],
                },
            ):
                pass
        totals = {
            "FailuresRecorded": len(self.of(ConsumedAs.RECORDED)),
            "DuplicateFailures": len(self.of(ConsumedAs.DUPLICATE)),
            "IgnoredRecords": len(self.of(ConsumedAs.IGNORED)),
            "UnreadableFailureMessages": self.unreadable,
            "StreamRecordsLost": len(self.lost_stream_records),
            "BodiesStoredInS3": sum(1 for item in self.of(ConsumedAs.RECORDED) if item.body_location == "s3"),
        }
        for name, value in totals.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def alert(self, ledger_name: str) -> tuple[str, str]:
        """Subject and text of the batch's one alert."""
        recorded = self.of(ConsumedAs.RECORDED)
        subject = f"{len(recorded)} new Lambda failure(s) recorded"
        if self.unreadable:
            subject += f", {self.unreadable} unreadable"
        lines = [
            f"The failure consumer recorded {len(recorded)} new failure(s) in the ledger {ledger_name}.",
            "",
        ]
        if recorded:
            rows = [("function", "condition", "error type", "count")] + [
                (*group, str(count)) for group, count in self.by_group().most_common()
            ]
            widths = [max(len(row[column]) for row in rows) for column in range(4)]
            lines += [
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
                for row in rows
            ]
            lines += ["", "failure ids: " + ", ".join(item.failure_id or "" for item in recorded[:20])]
            if len(recorded) > 20:
                lines.append(f"... and {len(recorded) - 20} more")
        if lost := self.lost_stream_records:
            lines += [
                "",
                f"stream records not all read back for: {', '.join(i.failure_id or '' for i in lost)} "
                "(each entry's rehydration_reason says why)",
            ]
        if duplicates := self.of(ConsumedAs.DUPLICATE):
            lines += ["", f"{len(duplicates)} duplicate deliveries changed nothing."]
        if self.unreadable:
            lines += [
                "",
                f"{self.unreadable} message(s) could not be recorded: they are retried and then kept in the "
                "consumer's DLQ; the consumer's log says why (\"failure record not recorded\").",
            ]
        return subject[:100], "\n".join(lines)


class AlertPublisher:
    """One SNS message per consumer batch that recorded something new or could not read something."""

    def __init__(self, sns: "SNSClient", topic_arn: str, *, retry: RetryPolicy | None = None) -> None:
        self._sns = sns
        self._topic_arn = topic_arn
        self._retry = retry or RetryPolicy()

    def publish(self, report: BatchReport, *, ledger_name: str) -> str:
        subject, message = report.alert(ledger_name)
        response = self._retry.call(
            self._sns.publish, TopicArn=self._topic_arn, Subject=subject, Message=message
        )
        return response["MessageId"]

"""What the failure consumer did with a batch, told as metrics and one alert (`BatchReport`), and the
alert's publisher (`AlertPublisher`).

An undelivered event (the first hop: EventBridge or SNS could not invoke the function) gets a line of
advice in the alert, by its error: a missing permission is not transient, and the alert says so and
names the resource-based policy to check, rather than leaving it among the failures to redrive.
"""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from lambda_failure_toolkit.failures import FailureKind, FailureRecord, FirstHop
from lambda_failure_toolkit.ledger.models import PayloadStatus, RehydrationStatus
from lambda_failure_toolkit.retry import RetryPolicy

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from mypy_boto3_sns import SNSClient

__all__ = ["AlertPublisher", "BatchReport", "Consumed", "ConsumedAs", "first_hop_advice"]

_NONE: Final = "none"
"""Dimension value for a missing function, condition or error type (CloudWatch refuses empty values)."""
_IDS_SHOWN: Final = 20


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
    payload: PayloadStatus = PayloadStatus.KEPT
    advice: str | None = None
    """An undelivered event's: what its error means and what to check (`first_hop_advice`)."""


def first_hop_advice(failure: FailureRecord) -> str | None:
    """What an undelivered event's error means, and where to look; None for any other failure."""
    hop = failure.first_hop
    if failure.kind is not FailureKind.DELIVERY or hop is None:
        return None
    if hop.service == "sns":
        return _sns_advice(hop, failure.source_arn)
    target = hop.target_arn or "its target"
    rule = hop.rule_arn or "its rule"
    match hop.error_code:
        case "NO_PERMISSIONS":
            return (
                f"NO_PERMISSIONS: EventBridge may not invoke {target}. A permission problem, not a transient "
                "one: retrying will not help. Check the function's resource-based policy (aws lambda "
                f"get-policy --function-name {target}): it must let events.amazonaws.com call "
                f"lambda:InvokeFunction with SourceArn {rule}. Then redrive the entries from the ledger."
            )
        case "NO_RESOURCE":
            return (
                f"NO_RESOURCE: {target} does not exist (deleted, or a wrong name or qualifier in the rule "
                f"{rule}). Restore it or fix the rule's target, then redrive the entries from the ledger."
            )
        case _:
            retries = (
                f" after {hop.retry_attempts} retries ({hop.exhausted_retry_condition})"
                if hop.exhausted_retry_condition
                else ""
            )
            return (
                f"{hop.error_code}: EventBridge could not invoke {target} for the rule {rule}{retries}. Once "
                "the cause is gone (throttles: the function's concurrency), redrive the entries from the ledger."
            )


def _sns_advice(hop: FirstHop, dead_letter_queue: str | None) -> str:
    topic = hop.topic_arn or "the topic"
    subscription = f"the subscription {hop.subscription_arn}" if hop.subscription_arn else "a subscription"
    return (
        f"SNS could not deliver to {subscription} of {topic} (its DLQ {dead_letter_queue}) and says no more. "
        "Check the subscriber's resource-based policy lets sns.amazonaws.com call lambda:InvokeFunction "
        f"with SourceArn {topic}, that it exists, and its throttles. Then redrive the entries from the "
        "ledger with target.function (the message does not name its subscriber)."
    )


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
    def undelivered(self) -> list[Consumed]:
        return [item for item in self.of(ConsumedAs.RECORDED) if item.advice is not None]

    @property
    def dropped_payloads(self) -> list[Consumed]:
        return [item for item in self.of(ConsumedAs.RECORDED) if item.payload is PayloadStatus.DROPPED]

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
            "UndeliveredEventsRecorded": len(self.undelivered),
            "PayloadsDropped": len(self.dropped_payloads),
            "BodiesStoredInS3": sum(1 for item in self.of(ConsumedAs.RECORDED) if item.body_location == "s3"),
        }
        for name, value in totals.items():
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def alert(self, ledger_name: str) -> tuple[str, str]:
        """Subject and text of the batch's one alert."""
        recorded = self.of(ConsumedAs.RECORDED)
        subject = f"{len(recorded)} new Lambda failure(s) recorded"
        if permissions := sum(1 for item in self.undelivered if item.error_type == "NO_PERMISSIONS"):
            subject += f", {permissions} permission problem(s)"
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
            lines += [
                "",
                "failure ids: " + ", ".join(item.failure_id or "" for item in recorded[:_IDS_SHOWN]),
            ]
            if len(recorded) > _IDS_SHOWN:
                lines.append(f"... and {len(recorded) - _IDS_SHOWN} more")
        if undelivered := self.undelivered:
            lines += ["", f"{len(undelivered)} event(s) never reached their function (the first hop):"]
            lines += [
                f"- {advice}" for advice in dict.fromkeys(item.advice for item in undelivered) if advice
            ]
        if lost := self.lost_stream_records:
            lines += [
                "",
                f"stream records not all read back for: {', '.join(i.failure_id or '' for i in lost)} "
                "(each entry's rehydration_reason says why)",
            ]
        if dropped := self.dropped_payloads:
            lines += [
                "",
                f"{len(dropped)} record(s) came without their event, which AWS dropped: "
                f"{', '.join(i.failure_id or '' for i in dropped[:_IDS_SHOWN])} (they cannot be redriven; "
                "each entry's payload_dropped_because says why)",
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

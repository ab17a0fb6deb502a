"""The envelopes a failure record arrives in, and how to take each one off.

Lambda event records (SQS, SNS, EventBridge) are validated with Powertools' parser models; the SQS
`ReceiveMessage` API shape (what the redrive and the operator tool read) has no Powertools model,
so it has a small one here.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from aws_lambda_powertools.utilities.parser.models import (
    EventBridgeModel,
    SnsNotificationModel,
    SnsRecordModel,
    SqsRecordModel,
)
from pydantic import BaseModel, ConfigDict, Field

from lambda_failure_toolkit.failures.record import Channel

__all__ = [
    "ENVELOPES",
    "EVENTBRIDGE_DETAIL_TYPES",
    "EVENTBRIDGE_SOURCES",
    "Envelope",
    "EnvelopeError",
    "Peeled",
    "detect",
]

Envelope = Literal["sqs", "sqs_api", "sns", "sns_notification", "eventbridge"]

EVENTBRIDGE_SOURCES = frozenset(
    {"lambda", "aws.lambda"}
)  # recorded payloads say lambda, the guide aws.lambda
EVENTBRIDGE_DETAIL_TYPES = {
    "Lambda Function Invocation Result - Success": True,
    "Lambda Function Invocation Result - Failure": False,
}
# Lambda always sets RequestID; ErrorCode and ErrorMessage may each be missing.
_DLQ_MARKER = "RequestID"
_DLQ_ERROR_KEYS = ("ErrorCode", "ErrorMessage")


class EnvelopeError(ValueError):
    """The envelope cannot carry a failure record (`invalid`: it is also malformed)."""

    def __init__(self, seen: str, expected: str, *, invalid: bool = False) -> None:
        super().__init__(seen)
        self.seen = seen
        self.expected = expected
        self.invalid = invalid


@dataclass(frozen=True, slots=True)
class Peeled:
    """What taking one envelope off gives."""

    channel: Channel
    inner: Any
    arn: str | None = None
    message_id: str | None = None
    receive_count: int | None = None
    sent_at: datetime | None = None
    dlq_attributes: dict[str, str] | None = None
    """The Lambda DLQ attributes (RequestID, ErrorCode, ErrorMessage) when Lambda wrote the message."""
    attributes: dict[str, str] | None = None
    """SQS: every message attribute with a string value (EventBridge's DLQ attributes among them)."""
    group_id: str | None = None
    """SQS FIFO: the message group."""
    dedup_id: str | None = None
    """SQS FIFO: the deduplication id."""
    success: bool | None = None
    """EventBridge only: what `detail-type` says of the invocation."""


class _SqsApiAttributeValue(BaseModel):
    model_config = ConfigDict(extra="ignore")
    DataType: str
    StringValue: str | None = None


class _SqsApiMessage(BaseModel):
    """A message as SQS `ReceiveMessage` returns it (boto3's shape)."""

    model_config = ConfigDict(extra="ignore")
    MessageId: str = Field(min_length=1)
    ReceiptHandle: str = Field(min_length=1)
    Body: str
    Attributes: dict[str, str] = Field(default_factory=dict)
    MessageAttributes: dict[str, _SqsApiAttributeValue] = Field(default_factory=dict)


def detect(value: Mapping[str, Any]) -> Envelope | None:
    """Which envelope `value` is, by the keys that only that envelope has."""
    if value.get("eventSource") == "aws:sqs":
        return "sqs"
    if value.get("EventSource") == "aws:sns":
        return "sns"
    if value.get("Type") == "Notification" and "TopicArn" in value:
        return "sns_notification"
    if "detail-type" in value and "detail" in value:
        return "eventbridge"
    if {"MessageId", "ReceiptHandle", "Body"} <= value.keys():
        return "sqs_api"
    return None


def _dlq_attributes(strings: Mapping[str, str | None]) -> dict[str, str] | None:
    if strings.get(_DLQ_MARKER) is None or all(strings.get(key) is None for key in _DLQ_ERROR_KEYS):
        return None
    return {key: value for key, value in strings.items() if value is not None}


def _strings(attributes: Mapping[str, str | None]) -> dict[str, str]:
    return {name: value for name, value in attributes.items() if value is not None}


def _count(value: str | None) -> int | None:
    if value is None or not (value.isascii() and value.isdigit() and len(value) <= 20):
        return None
    return int(value)


def _epoch_ms(value: str | None) -> datetime | None:
    millis = _count(value)
    if millis is None:
        return None
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, ValueError, OSError):  # out of datetime's range: not a real SentTimestamp
        return None


def _peel_sqs(value: Mapping[str, Any]) -> Peeled:
    record = SqsRecordModel.model_validate(value)
    if not isinstance(record.body, str):
        # Powertools types body as str | BaseModel, so an object body validates (into an empty model).
        raise EnvelopeError(
            seen=f"an SQS record whose body is a {type(value.get('body')).__name__}",
            expected="an SQS record whose body is a string",
            invalid=True,
        )
    attributes = {name: attr.stringValue for name, attr in record.messageAttributes.items()}
    return Peeled(
        channel="sqs",
        inner=record.body,
        arn=record.eventSourceARN,
        message_id=record.messageId,
        receive_count=_count(record.attributes.ApproximateReceiveCount),
        sent_at=record.attributes.SentTimestamp,
        dlq_attributes=_dlq_attributes(attributes),
        attributes=_strings(attributes),
        group_id=record.attributes.MessageGroupId,
        dedup_id=record.attributes.MessageDeduplicationId,
    )


def _peel_sqs_api(value: Mapping[str, Any]) -> Peeled:
    message = _SqsApiMessage.model_validate(value)
    attributes = {name: attr.StringValue for name, attr in message.MessageAttributes.items()}
    return Peeled(
        channel="sqs",
        inner=message.Body,
        message_id=message.MessageId,
        receive_count=_count(message.Attributes.get("ApproximateReceiveCount")),
        sent_at=_epoch_ms(message.Attributes.get("SentTimestamp")),
        dlq_attributes=_dlq_attributes(attributes),
        attributes=_strings(attributes),
        group_id=message.Attributes.get("MessageGroupId"),
        dedup_id=message.Attributes.get("MessageDeduplicationId"),
    )


def _peel_sns_notification(notification: SnsNotificationModel) -> Peeled:
    attributes = {name: attr.Value for name, attr in (notification.MessageAttributes or {}).items()}
    return Peeled(
        channel="sns",
        inner=notification.Message,
        arn=notification.TopicArn,
        message_id=notification.MessageId,
        sent_at=notification.Timestamp,
        dlq_attributes=_dlq_attributes(attributes),
    )


def _peel_sns(value: Mapping[str, Any]) -> Peeled:
    # Powertools' notification validator renames SQS's SigningCertURL/UnsubscribeURL keys in place,
    # and raises TypeError (not a validation error) on a value it cannot iterate: give it a copy of
    # an object, and nothing else.
    notification = value.get("Sns")
    if not isinstance(notification, Mapping):
        raise EnvelopeError(
            seen=f"an SNS record whose Sns is a {type(notification).__name__}",
            expected="an SNS record whose Sns is an SNS notification object",
            invalid=True,
        )
    return _peel_sns_notification(SnsRecordModel.model_validate({**value, "Sns": dict(notification)}).Sns)


def _peel_sns_json(value: Mapping[str, Any]) -> Peeled:
    return _peel_sns_notification(SnsNotificationModel.model_validate(dict(value)))


def _peel_eventbridge(value: Mapping[str, Any]) -> Peeled:
    event = EventBridgeModel.model_validate(value)
    if event.source not in EVENTBRIDGE_SOURCES or event.detail_type not in EVENTBRIDGE_DETAIL_TYPES:
        raise EnvelopeError(
            seen=f"an EventBridge event with source {event.source!r} and detail-type {event.detail_type!r}",
            expected="source 'lambda' or 'aws.lambda' with detail-type "
            "'Lambda Function Invocation Result - Success' or '... - Failure'",
        )
    bus = next((arn for arn in event.resources if ":event-bus/" in arn), None)
    return Peeled(
        channel="eventbridge",
        inner=event.detail,
        arn=bus,
        message_id=event.id,
        sent_at=event.time,
        success=EVENTBRIDGE_DETAIL_TYPES[event.detail_type],
    )


ENVELOPES: dict[Envelope, Callable[[Mapping[str, Any]], Peeled]] = {
    "sqs": _peel_sqs,
    "sqs_api": _peel_sqs_api,
    "sns": _peel_sns,
    "sns_notification": _peel_sns_json,
    "eventbridge": _peel_eventbridge,
}

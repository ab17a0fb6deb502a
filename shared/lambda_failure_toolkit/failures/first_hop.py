"""The first hop: events EventBridge or SNS could not deliver to their target, read from the DLQ of a
rule target or of a subscription. The function never saw them: no Lambda record exists.

- An EventBridge rule target's DLQ message says so itself: its body is the event (as the target
  would have received it), and EventBridge adds the attributes RULE_ARN, TARGET_ARN, ERROR_CODE,
  ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION (only when retries ran out) and RETRY_ATTEMPTS
  (EventBridge user guide, "Using dead-letter queues to process undelivered events").
- An SNS subscription's DLQ message says nothing: it is the message as SNS would have delivered it,
  the SNS JSON envelope (a Lambda endpoint's too, not the `Records[].Sns` event), or with raw
  delivery the published body. Only the queue it sits in tells that it failed, so the caller names
  its subscription DLQs (`parse_failure(..., first_hop_dlqs=...)`).
"""

import json
import re
from collections.abc import Mapping
from typing import Final
from urllib.parse import parse_qs, urlsplit

from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel
from pydantic import ValidationError

from lambda_failure_toolkit.failures.envelopes import EVENTBRIDGE_DETAIL_TYPES, EVENTBRIDGE_SOURCES, Peeled
from lambda_failure_toolkit.failures.exceptions import UnrecognizedFailureError, UnrecognizedReason
from lambda_failure_toolkit.failures.json_text import body_payload
from lambda_failure_toolkit.failures.models import FUNCTION_ARN_PATTERN, EventBridgeDlqAttributes
from lambda_failure_toolkit.failures.record import (
    Delivery,
    ErrorInfo,
    FailureKind,
    FailureRecord,
    FirstHop,
    make_failure_id,
)

__all__ = ["carries_failure_record", "from_eventbridge", "from_subscription", "is_eventbridge_dead_letter"]

_MARKERS: Final = ("RULE_ARN", "TARGET_ARN", "ERROR_CODE")
"""EventBridge always writes these three; ERROR_MESSAGE, EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS
may each be missing."""
_FUNCTION: Final = re.compile(FUNCTION_ARN_PATTERN)


def is_eventbridge_dead_letter(attributes: Mapping[str, str] | None) -> bool:
    return attributes is not None and all(marker in attributes for marker in _MARKERS)


def carries_failure_record(body: object) -> bool:
    """Whether a body is itself a Lambda failure record (an invocation record, or Lambda's failure
    event on EventBridge): the toolkit's own rule into the failure queue dead-letters those, and the
    record inside says more than the delivery failure around it."""
    try:
        value = json.loads(body) if isinstance(body, str | bytes) else body
    except (ValueError, RecursionError):
        return False
    if not isinstance(value, Mapping):
        return False
    source, detail_type = value.get("source"), value.get("detail-type")
    # Anything but a string is no Lambda event (and a list or an object could not be looked up in a set)
    return "requestContext" in value or (
        isinstance(source, str)
        and isinstance(detail_type, str)
        and source in EVENTBRIDGE_SOURCES
        and detail_type in EVENTBRIDGE_DETAIL_TYPES
    )


def _invalid(path: tuple[str, ...], seen: str, expected: str) -> UnrecognizedFailureError:
    return UnrecognizedFailureError(
        UnrecognizedReason.INVALID_RECORD, path=path, seen=seen, expected=expected
    )


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(message)'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False)[:3]
    )


def from_eventbridge(peeled: Peeled, delivery: Delivery, path: tuple[str, ...]) -> FailureRecord:
    """An EventBridge rule target's DLQ message: the event, and why EventBridge could not deliver it."""
    try:
        attributes = EventBridgeDlqAttributes.model_validate(peeled.attributes or {})
    except ValidationError as exc:
        raise _invalid(
            path,
            f"an EventBridge rule target's DLQ message whose attributes are invalid: {_problems(exc)}",
            "RULE_ARN (a rule's ARN), TARGET_ARN, ERROR_CODE (e.g. NO_PERMISSIONS) and, when given, "
            "RETRY_ATTEMPTS (digits)",
        ) from exc
    body = str(peeled.inner)
    payload, decoded = body_payload(body)
    event_id = _event_id(payload)
    target = attributes.target_arn
    parts = target.split(":")
    # A target may be a queue, a state machine, a bus...: only a function is named as one.
    is_function = _FUNCTION.match(target) is not None
    return FailureRecord(
        failure_id=make_failure_id(
            FailureKind.DELIVERY,
            "eventbridge",
            attributes.rule_arn,
            target,
            event_id or f"message:{peeled.message_id}",
        ),
        kind=FailureKind.DELIVERY,
        condition=attributes.exhausted_retry_condition,
        request_id=event_id,
        function_arn=":".join(parts[:7]) if is_function else None,
        function_name=parts[6] if is_function else None,
        qualifier=parts[7] if is_function and len(parts) > 7 else None,
        source_arn=delivery.queue_arn,
        attempts=None if attributes.retry_attempts is None else attributes.retry_attempts + 1,
        occurred_at=peeled.sent_at,
        error=ErrorInfo(type=attributes.error_code, message=attributes.error_message or None),
        payload=payload,
        has_payload=True,
        payload_json=body if decoded else None,
        first_hop=FirstHop(
            service="eventbridge",
            rule_arn=attributes.rule_arn,
            target_arn=target,
            error_code=attributes.error_code,
            exhausted_retry_condition=attributes.exhausted_retry_condition,
            retry_attempts=attributes.retry_attempts,
        ),
        delivery=delivery,
    )


def _event_id(payload: object) -> str | None:
    """The EventBridge event's own id, when the body is an event (an input transformer may make it
    anything else)."""
    if isinstance(payload, Mapping) and "detail-type" in payload:
        event_id = payload.get("id")
        return event_id if isinstance(event_id, str) and event_id else None
    return None


def from_subscription(peeled: Peeled, delivery: Delivery, path: tuple[str, ...]) -> FailureRecord:
    """An SNS subscription's DLQ message: the envelope SNS would have delivered, or the raw message."""
    body = str(peeled.inner)
    payload, decoded = body_payload(body)
    envelope = None
    if isinstance(payload, dict) and payload.get("Type") == "Notification" and "TopicArn" in payload:
        try:
            envelope = SnsNotificationModel.model_validate(dict(payload))  # it renames keys in place
        except ValidationError as exc:
            raise _invalid(
                path,
                f"an SNS subscription's DLQ message whose SNS envelope is invalid: {_problems(exc)}",
                "the SNS envelope as SNS writes it (Type, MessageId, TopicArn, Message, Timestamp, UnsubscribeURL)",
            ) from exc
    subscription = _subscription(str(envelope.UnsubscribeUrl)) if envelope else None
    identity = envelope.MessageId if envelope else (peeled.dedup_id or f"message:{peeled.message_id}")
    return FailureRecord(
        failure_id=make_failure_id(
            FailureKind.DELIVERY,
            "sns",
            envelope.TopicArn if envelope else None,
            subscription or delivery.queue_arn,
            identity,
        ),
        kind=FailureKind.DELIVERY,
        condition=None,
        request_id=envelope.MessageId if envelope else None,
        function_arn=None,
        function_name=None,
        qualifier=None,
        source_arn=delivery.queue_arn,
        attempts=None,
        occurred_at=peeled.sent_at,
        error=None,
        payload=payload,
        has_payload=True,
        payload_json=body if decoded else None,
        first_hop=FirstHop(
            service="sns",
            topic_arn=envelope.TopicArn if envelope else None,
            subscription_arn=subscription,
            raw_delivery=envelope is None,
            message_group_id=peeled.group_id,
            message_deduplication_id=peeled.dedup_id,
        ),
        delivery=delivery,
    )


def _subscription(unsubscribe_url: str) -> str | None:
    values = parse_qs(urlsplit(unsubscribe_url).query).get("SubscriptionArn")
    return values[0].strip() if values and values[0].strip() else None

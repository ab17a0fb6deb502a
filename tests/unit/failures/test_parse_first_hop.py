"""The first hop: what an EventBridge rule target's DLQ and an SNS subscription's DLQ hold becomes a
`delivery` FailureRecord, as a Lambda event record, as JSON text and as a ReceiveMessage message,
with a stable id and the event exactly as the DLQ holds it."""

import copy
import json
from typing import Any

import pytest

from lambda_failure_toolkit.failures import (
    FailureKind,
    FailureRecord,
    UnrecognizedFailureError,
    UnrecognizedReason,
    parse_failure,
)
from tests.events import FIRST_HOP_DLQS, load_event

RULE = "arn:aws:events:eu-west-1:123456789012:rule/order-events-dev"
FUNCTION = "arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev"
TOPIC = "arn:aws:sns:eu-west-1:123456789012:order-events-dev"
RULE_DLQ = "arn:aws:sqs:eu-west-1:123456789012:order-events-rule-dlq-dev"
SUBSCRIPTION_DLQ = "arn:aws:sqs:eu-west-1:123456789012:order-events-subscription-dlq-dev"
SAMPLES = [
    ("failures/first-hop/eventbridge_no_permissions.json", 0),
    ("failures/first-hop/eventbridge_retries_exhausted.json", 0),
    ("failures/first-hop/eventbridge_retries_exhausted.json", 1),
    ("failures/first-hop/sns_subscription.json", 0),
    ("failures/first-hop/sns_subscription_fifo.json", 0),
    ("failures/first-hop/sns_subscription_raw.json", 0),
]


def message(relative: str, index: int = 0) -> dict[str, Any]:
    record: dict[str, Any] = load_event(relative)["Records"][index]
    return record


def as_receive_message(record: dict[str, Any]) -> dict[str, Any]:
    """The same message as SQS's ReceiveMessage returns it (what the redrive and the dlq tool read)."""
    return {
        "MessageId": record["messageId"],
        "ReceiptHandle": record["receiptHandle"],
        "Body": record["body"],
        "Attributes": record["attributes"],
        "MessageAttributes": {
            name: {"DataType": value["dataType"], "StringValue": value["stringValue"]}
            for name, value in record["messageAttributes"].items()
        },
    }


def parse(raw: object, **kwargs: Any) -> FailureRecord:
    return parse_failure(raw, first_hop_dlqs=FIRST_HOP_DLQS, **kwargs)


@pytest.mark.parametrize(("relative", "index"), SAMPLES)
def test_each_shape_parses_alike_as_an_event_record_json_text_and_a_receive_message(
    relative: str, index: int
) -> None:
    # Given an undelivered event as the consumer's mapping delivers it
    record = message(relative, index)
    # When it is parsed as a dict, as JSON text, and as ReceiveMessage returns it (its queue named)
    from_dict = parse(record)
    from_text = parse(json.dumps(record))
    from_api = parse(as_receive_message(record), source=record["eventSourceARN"])
    # Then all three are one failure, with one id, of kind delivery, read from that DLQ
    assert from_dict.kind is FailureKind.DELIVERY
    assert from_dict.failure_id == from_text.failure_id == from_api.failure_id
    assert from_dict.failure_id.startswith("delivery-")
    assert from_dict.model_dump(exclude={"delivery"}) == from_api.model_dump(exclude={"delivery"})
    assert from_dict.source_arn == record["eventSourceARN"]
    # And the event is kept exactly as the DLQ holds it: what the redrive replays
    assert from_dict.has_payload
    body = record["body"]
    assert from_dict.payload == json.loads(body)
    assert from_dict.payload_json == body


def test_an_eventbridge_rule_targets_dlq_message_names_the_rule_target_and_error() -> None:
    failure = parse(message("failures/first-hop/eventbridge_no_permissions.json"))
    assert failure.first_hop is not None
    assert failure.first_hop.model_dump() == {
        "service": "eventbridge",
        "rule_arn": RULE,
        "target_arn": FUNCTION,
        "topic_arn": None,
        "subscription_arn": None,
        "error_code": "NO_PERMISSIONS",
        "exhausted_retry_condition": None,
        "retry_attempts": 0,
        "raw_delivery": False,
        "message_group_id": None,
        "message_deduplication_id": None,
    }
    assert (failure.function_arn, failure.function_name, failure.qualifier) == (
        FUNCTION,
        "order-events-dev",
        None,
    )
    assert failure.error is not None
    assert failure.error.type == "NO_PERMISSIONS"
    assert failure.error.message is not None
    assert "not authorized to perform: lambda:InvokeFunction" in failure.error.message
    assert failure.condition is None  # not retried: a missing permission goes to the DLQ at once
    assert failure.attempts == 1
    assert failure.request_id == "6a8c0e2a-4c6e-8a0c-2e4a-6c8e0a2c4e61"  # the event's own id
    assert failure.occurred_at is not None
    assert failure.is_failure


def test_retries_that_ran_out_give_the_condition_and_the_attempts_and_a_qualified_target() -> None:
    failure = parse(message("failures/first-hop/eventbridge_retries_exhausted.json"))
    assert failure.condition == "MaximumEventAgeInSeconds"
    assert failure.attempts == 38  # RETRY_ATTEMPTS 37, and the first attempt
    assert (failure.function_name, failure.qualifier) == ("order-events-dev", "live")
    assert failure.first_hop is not None
    assert failure.first_hop.target_arn == f"{FUNCTION}:live"
    assert failure.first_hop.exhausted_retry_condition == "MaximumEventAgeInSeconds"


def test_an_sns_subscriptions_dlq_message_names_the_topic_and_subscription_from_its_envelope() -> None:
    failure = parse(message("failures/first-hop/sns_subscription.json"))
    assert failure.first_hop is not None
    assert failure.first_hop.service == "sns"
    assert failure.first_hop.topic_arn == TOPIC
    assert failure.first_hop.subscription_arn == f"{TOPIC}:5c7e9a1b-3d5f-4b7c-9e1a-3c5e7a9b1d4f"
    assert not failure.first_hop.raw_delivery
    # SNS writes no error, and the message does not name the subscriber
    assert failure.error is None
    assert (failure.function_arn, failure.condition, failure.attempts) == (None, None, None)
    assert failure.request_id == "a2c4e6a8-c0e2-5a4c-8e6a-0c2e4a6c8e05"  # the SNS MessageId
    assert isinstance(failure.payload, dict)
    assert json.loads(str(failure.payload["Message"]))["order_id"] == "ord-4d5e6f"


def test_raw_delivery_keeps_the_published_message_and_cannot_name_the_topic() -> None:
    failure = parse(message("failures/first-hop/sns_subscription_raw.json"))
    assert failure.first_hop is not None
    assert failure.first_hop.raw_delivery
    assert failure.first_hop.topic_arn is None
    assert failure.first_hop.subscription_arn is None
    assert isinstance(failure.payload, dict)
    assert failure.payload["order_id"] == "ord-7g8h9i"


def test_a_fifo_subscription_keeps_its_message_group_and_deduplication_id() -> None:
    failure = parse(message("failures/first-hop/sns_subscription_fifo.json"))
    assert failure.first_hop is not None
    assert failure.first_hop.message_group_id == "ord-1j2k3l"
    assert failure.first_hop.message_deduplication_id is not None
    assert failure.first_hop.message_deduplication_id.startswith("6f0b2d4e")
    assert failure.first_hop.topic_arn == f"{TOPIC}.fifo"


def test_ids_are_stable_and_differ_by_rule_target_event_topic_or_subscription() -> None:
    eventbridge = message("failures/first-hop/eventbridge_no_permissions.json")
    subscription = message("failures/first-hop/sns_subscription.json")
    base_eventbridge, base_subscription = parse(eventbridge).failure_id, parse(subscription).failure_id
    # A redelivery of the same DLQ message (another receive, another receipt handle) is the same failure
    again = copy.deepcopy(eventbridge) | {"receiptHandle": "AQEBanother", "messageId": "another-message"}
    again["attributes"]["ApproximateReceiveCount"] = "4"
    assert parse(again).failure_id == base_eventbridge
    ids = {base_eventbridge, base_subscription}
    for attribute, value in (("RULE_ARN", f"{RULE}-other"), ("TARGET_ARN", f"{FUNCTION}-other")):
        changed = copy.deepcopy(eventbridge)
        changed["messageAttributes"][attribute]["stringValue"] = value
        ids.add(parse(changed).failure_id)
    other_event = copy.deepcopy(eventbridge)
    other_event["body"] = json.dumps(json.loads(eventbridge["body"]) | {"id": "another-event"})
    ids.add(parse(other_event).failure_id)
    for key, value in (("MessageId", "another-message"), ("TopicArn", f"{TOPIC}-other")):
        changed = copy.deepcopy(subscription)
        changed["body"] = json.dumps(json.loads(subscription["body"]) | {key: value})
        ids.add(parse(changed).failure_id)
    assert len(ids) == 7


def test_an_eventbridge_dlq_message_is_recognised_in_any_queue_an_sns_one_only_in_a_named_one() -> None:
    eventbridge = message("failures/first-hop/eventbridge_no_permissions.json")
    assert parse_failure(eventbridge).kind is FailureKind.DELIVERY  # its attributes say what it is
    with pytest.raises(UnrecognizedFailureError) as refused:
        parse_failure(message("failures/first-hop/sns_subscription.json"))  # nothing says so
    assert refused.value.reason is UnrecognizedReason.UNKNOWN_SHAPE
    assert refused.value.path == ("sqs", "sns")


def test_a_lambda_failure_record_dead_lettered_by_a_rule_is_read_as_that_record() -> None:
    # Given the toolkit's own failure rule could not deliver Lambda's failure event to the failure
    # queue: the consumer's DLQ holds the event with EventBridge's attributes
    lambda_event = load_event("failures/eventbridge/invocation_failure.json")
    dead_letter = message("failures/first-hop/eventbridge_no_permissions.json") | {
        "body": json.dumps(lambda_event),
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:lambda-failures-dlq-dev",
    }
    # Then the invocation record inside, which says more, is what it is read as
    failure = parse_failure(dead_letter)
    assert failure.kind is FailureKind.ASYNC
    assert failure.failure_id == parse_failure(lambda_event).failure_id
    # Unless that queue is named a first-hop DLQ: then it is the undelivered event
    named = parse_failure(dead_letter, first_hop_dlqs={dead_letter["eventSourceARN"]})
    assert named.kind is FailureKind.DELIVERY


def test_a_lambda_dlq_message_in_a_named_queue_stays_a_lambda_dlq_message() -> None:
    record = load_event("failures/dlq/sqs_lambda_dlq.json")["Records"][0]
    assert parse_failure(record, first_hop_dlqs={record["eventSourceARN"]}).kind is FailureKind.DLQ


@pytest.mark.parametrize(
    ("attribute", "value", "problem"),
    [
        ("RULE_ARN", "not-a-rule", "RULE_ARN"),
        ("RETRY_ATTEMPTS", "three", "RETRY_ATTEMPTS"),
        ("ERROR_CODE", "no permissions", "ERROR_CODE"),
        ("EXHAUSTED_RETRY_CONDITION", "Maximum Retry Attempts", "EXHAUSTED_RETRY_CONDITION"),
    ],
)
def test_invalid_eventbridge_attributes_are_refused_naming_the_attribute(
    attribute: str, value: str, problem: str
) -> None:
    record = message("failures/first-hop/eventbridge_retries_exhausted.json")
    record["messageAttributes"][attribute]["stringValue"] = value
    with pytest.raises(UnrecognizedFailureError) as refused:
        parse(record)
    assert refused.value.reason is UnrecognizedReason.INVALID_RECORD
    assert problem in str(refused.value)
    assert value not in str(refused.value)  # attribute names, never values, in a message that is logged


def test_an_invalid_sns_envelope_in_a_named_queue_is_refused() -> None:
    record = message("failures/first-hop/sns_subscription.json")
    envelope = json.loads(record["body"])
    del envelope["MessageId"]
    record["body"] = json.dumps(envelope)
    with pytest.raises(UnrecognizedFailureError) as refused:
        parse(record)
    assert refused.value.reason is UnrecognizedReason.INVALID_RECORD
    assert "MessageId" in str(refused.value)


def test_a_body_that_is_not_json_is_kept_as_text() -> None:
    # An input transformer can make the target's input plain text
    record = message("failures/first-hop/eventbridge_no_permissions.json") | {
        "body": "order ord-1a2b3c placed"
    }
    failure = parse(record)
    assert failure.payload == "order ord-1a2b3c placed"
    assert failure.payload_json is None
    assert failure.request_id is None  # no event id to read: the DLQ message identifies it
    assert failure.failure_id == parse(json.dumps(record)).failure_id


@pytest.mark.parametrize("body", ["order ord-1a2b3c placed", "[1, 2]", '"a string"'])
def test_an_eventbridge_dlq_message_in_any_queue_whose_body_is_no_object_is_still_undelivered(
    body: str,
) -> None:
    record = message("failures/first-hop/eventbridge_no_permissions.json") | {
        "body": body,
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:not-named-first-hop",
    }
    assert parse_failure(record).kind is FailureKind.DELIVERY


def test_a_body_whose_source_or_detail_type_is_not_a_string_is_no_lambda_record() -> None:
    # Found in review: a list or object there is unhashable, and the set lookup raised TypeError
    body = json.dumps({"source": ["shop.orders"], "detail-type": {"a": 1}, "detail": {}})
    record = message("failures/first-hop/eventbridge_no_permissions.json") | {
        "body": body,
        "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:not-named-first-hop",
    }
    assert parse_failure(record).kind is FailureKind.DELIVERY

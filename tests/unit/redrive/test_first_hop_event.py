"""An undelivered event, replayed as its service would have delivered it to the function."""

import json

from aws_lambda_powertools.utilities.parser.models import SnsModel

from lambda_failure_toolkit.failures import FailureRecord, parse_failure
from lambda_failure_toolkit.redrive.first_hop import first_hop_event, no_target_reason
from lambda_failure_toolkit.redrive.work import FailureFacts, Refuse
from tests.events import FIRST_HOP_DLQS, load_event


def facts(sample: str, index: int = 0) -> FailureFacts:
    record = load_event(sample)["Records"][index]
    return FailureFacts.of(parse_failure(record, first_hop_dlqs=FIRST_HOP_DLQS))


def test_an_eventbridge_event_is_replayed_byte_for_byte() -> None:
    sample = "failures/first-hop/eventbridge_no_permissions.json"
    assert first_hop_event(facts(sample)) == load_event(sample)["Records"][0]["body"]


def test_an_sns_envelope_becomes_the_records_event_sns_invokes_a_function_with() -> None:
    sample = "failures/first-hop/sns_subscription.json"
    event = first_hop_event(facts(sample))
    assert isinstance(event, str)
    [record] = json.loads(event)["Records"]
    envelope = json.loads(load_event(sample)["Records"][0]["body"])
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == envelope["UnsubscribeURL"].split("SubscriptionArn=")[1]
    sns = record["Sns"]
    # Lambda's spelling of the two URL keys, and Subject null and MessageAttributes {} when absent
    assert sns["SigningCertUrl"] == envelope["SigningCertURL"]
    assert sns["UnsubscribeUrl"] == envelope["UnsubscribeURL"]
    assert "SigningCertURL" not in sns
    assert (sns["Subject"], sns["MessageAttributes"]) == (None, {})
    assert sns["Message"] == envelope["Message"]  # the published text, exactly
    SnsModel.model_validate(json.loads(event))


def test_a_fifo_envelope_keeps_its_sequence_number() -> None:
    event = first_hop_event(facts("failures/first-hop/sns_subscription_fifo.json"))
    assert isinstance(event, str)
    assert json.loads(event)["Records"][0]["Sns"]["SequenceNumber"] == "10000000000000021000"


def test_a_raw_message_cannot_be_made_into_a_functions_event() -> None:
    refused = first_hop_event(facts("failures/first-hop/sns_subscription_raw.json"))
    assert isinstance(refused, Refuse)
    assert refused.reason.startswith("raw delivery: the DLQ holds the published message")


def test_an_envelope_without_a_subscription_is_refused() -> None:
    failure = parse_failure(
        load_event("failures/first-hop/sns_subscription.json")["Records"][0], first_hop_dlqs=FIRST_HOP_DLQS
    )
    assert failure.first_hop is not None
    unnamed = failure.model_copy(
        update={"first_hop": failure.first_hop.model_copy(update={"subscription_arn": None})}
    )
    refused = first_hop_event(FailureFacts.of(unnamed))
    assert isinstance(refused, Refuse)
    assert "names no subscription" in refused.reason


def test_a_target_that_is_not_a_function_is_named_in_the_refusal() -> None:
    record = load_event("failures/first-hop/eventbridge_no_permissions.json")["Records"][0]
    record["messageAttributes"]["TARGET_ARN"]["stringValue"] = "arn:aws:sqs:eu-west-1:123456789012:orders"
    failure: FailureRecord = parse_failure(record)
    assert failure.function_arn is None
    reason = no_target_reason(FailureFacts.of(failure))
    assert "the rule's target arn:aws:sqs:eu-west-1:123456789012:orders is not a Lambda function" in reason
    assert "subscriber" in no_target_reason(facts("failures/first-hop/sns_subscription.json"))

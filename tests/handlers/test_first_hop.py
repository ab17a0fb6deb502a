"""The first hop, end to end in the handler tier: EventBridge and SNS cannot invoke the function (its
resource-based policy lost its statements, or the function is gone), so the event waits in the rule
target's or the subscription's DLQ; the failure consumer records it; once the cause is fixed, the
redrive invokes that one function with the event as the service would have delivered it, and nothing
is put on the bus or published to the topic again.

moto keeps the account (rules, targets, topic, subscriptions, queues, the function and its policy);
the services' delivery to a function is played by tests/first_hop.py, as AWS documents it.
"""

import json
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import SnsModel
from botocore.client import BaseClient

from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import LedgerFilter, RedriveStatus
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.wiring import redrive_targets
from tests.events import load_event
from tests.first_hop import FUNCTION, RULE, Account, as_mapping_event, order
from tests.handlers.conftest import handler_module
from tests.lambda_context import FakeLambdaContext
from tests.redrive_support import FakeLambda

consumer = handler_module("FailureConsumerFunction")
redrive_function = handler_module("RedriveFunction")
order_events = handler_module("OrderEventsFunction")


def remove_permissions() -> None:
    for statement in ("events", "sns"):
        boto3.client("lambda").remove_permission(FunctionName=FUNCTION, StatementId=statement)


def consume(account: Account, role: str) -> list[dict[str, Any]]:
    """The consumer's mapping on a first-hop DLQ: a batch of what is there, then the deletes of the
    messages it did not report."""
    url, arn = account.queues[role]
    records = as_mapping_event(boto3.client("sqs"), url, arn)
    response = consumer.lambda_handler({"Records": records}, FakeLambdaContext())
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    for record in records:
        if record["messageId"] not in failed:
            boto3.client("sqs").delete_message(QueueUrl=url, ReceiptHandle=record["receiptHandle"])
    return records


def bodies(account: Account, role: str) -> list[str]:
    sqs = boto3.client("sqs")
    url = account.queues[role][0]
    found = []
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages"):
        for message in messages:
            found.append(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return found


def run_redrive(request: dict[str, Any], invoked: FakeLambda) -> dict[str, Any]:
    """The RedriveFunction, with the deployment's allow-list, invoking through the recording fake."""
    engine = Redrive(
        sqs=boto3.client("sqs"),
        lambda_client=invoked,  # type: ignore[arg-type]
        ledger=failure_ledger(),
        targets=redrive_targets(),
        restrict_derived_targets=True,
        wait_time_s=0,
        margin_s=1,
    )
    response: dict[str, Any] = redrive_function.lambda_handler(request, FakeLambdaContext(), engine=engine)
    return response


def test_undelivered_events_wait_in_their_dlq_reach_the_ledger_and_are_redriven_to_that_function_only(
    account: Account, mocker: Any
) -> None:
    hop = account.hop
    # Given the function gets its events while its resource-based policy lets EventBridge and SNS in
    hop.put_event(RULE, "shop.orders", "OrderPlaced", order("ord-fh-1"))
    assert len(hop.invoked.calls) == 1
    # When a deploy drops both statements, and an event comes by each path
    remove_permissions()
    undelivered = hop.put_event(RULE, "shop.orders", "OrderPaid", order("ord-fh-1", 2, "OrderPaid"))
    published = json.dumps(order("ord-fh-2"))
    hop.publish(account.topic_arn, published)
    # Then the function gets neither, and the other target and subscriber get theirs
    assert len(hop.invoked.calls) == 1
    assert len(bodies(account, "other_rule_target")) == 2
    assert len(bodies(account, "other_subscriber")) == 1

    # And each waits in its DLQ, as the service wrote it
    [rule_message] = consume(account, "rule_dlq")
    [subscription_message] = consume(account, "subscription_dlq")
    assert json.loads(rule_message["body"]) == undelivered
    assert rule_message["messageAttributes"]["ERROR_CODE"]["stringValue"] == "NO_PERMISSIONS"
    assert json.loads(subscription_message["body"])["Message"] == published
    assert subscription_message["messageAttributes"] == {}  # SNS says nothing of why

    # And the consumer took both into the ledger (their DLQs are empty), one entry each, with the event
    assert bodies(account, "rule_dlq") == bodies(account, "subscription_dlq") == []
    ledger = failure_ledger()
    entries = {
        e.source_arn: ledger.get(e.failure_id)
        for e in ledger.list(LedgerFilter(kinds=frozenset({FailureKind.DELIVERY}))).entries
    }
    rule_entry = entries[account.queues["rule_dlq"][1]]
    subscription_entry = entries[account.queues["subscription_dlq"][1]]
    assert len(entries) == 2
    assert rule_entry.payload_json == rule_message["body"]
    assert (rule_entry.function_name, rule_entry.error_type) == (FUNCTION, "NO_PERMISSIONS")
    assert subscription_entry.first_hop is not None
    assert subscription_entry.first_hop.topic_arn == account.topic_arn
    # And the alerts said so: a permission problem, and the policy to check
    alerts = "\n".join(bodies(account, "alerts"))
    assert "permission problem" in alerts
    assert f"aws lambda get-policy --function-name {account.function_arn}" in alerts
    assert f"SourceArn {account.rule_arn}" in alerts

    # When the statements are back (the fix) and the entries are redriven from the ledger: the rule
    # target's to the target it names, the subscription's to the function named (SNS does not say)
    boto3.client("lambda").add_permission(
        FunctionName=FUNCTION,
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=account.rule_arn,
    )
    calls = mocker.spy(BaseClient, "_make_api_call")
    by_rule = run_redrive(
        {
            "source": {"type": "ledger", "filter": {"source_arn": account.queues["rule_dlq"][1]}},
            "dry_run": False,
        },
        hop.invoked,
    )
    by_subscription = run_redrive(
        {
            "source": {"type": "ledger", "filter": {"source_arn": account.queues["subscription_dlq"][1]}},
            "target": {"function": account.function_arn},
            "dry_run": False,
        },
        hop.invoked,
    )
    # Then each went to that function, once, asynchronously, as the service would have delivered it
    assert (by_rule["moved"], by_subscription["moved"], by_rule["failed"], by_subscription["failed"]) == (
        1,
        1,
        0,
        0,
    )
    _, from_rule, from_subscription = hop.invoked.calls
    assert {from_rule["FunctionName"], from_subscription["FunctionName"]} == {account.function_arn}
    assert {from_rule["InvocationType"], from_subscription["InvocationType"]} == {"Event"}
    assert from_rule["Payload"] == rule_message["body"].encode()  # the event, byte for byte
    sns_event = SnsModel.model_validate(json.loads(from_subscription["Payload"]))  # Lambda's SNS event shape
    [record] = sns_event.Records
    assert record.Sns.Message == published
    assert record.Sns.TopicArn == account.topic_arn
    assert record.EventSubscriptionArn == subscription_entry.first_hop.subscription_arn
    # And nothing was put on the bus or published to the topic again: the others got nothing more
    operations = {call.args[1] for call in calls.call_args_list}
    assert not operations & {"PutEvents", "Publish", "PublishBatch", "SendMessage", "SendMessageBatch"}
    assert bodies(account, "other_rule_target") == bodies(account, "other_subscriber") == []
    assert {ledger.get(e.failure_id).redrive_status for e in entries.values()} == {RedriveStatus.REDRIVEN}
    # And the function, given the three events it got, applies each: the shapes are the real ones
    for call in hop.invoked.calls:
        result = order_events.lambda_handler(json.loads(call["Payload"]), FakeLambdaContext())
        assert result["status"] == "applied", result


def test_a_deleted_function_is_told_as_no_resource_and_its_event_kept(account: Account) -> None:
    boto3.client("lambda").delete_function(FunctionName=FUNCTION)
    event = account.hop.put_event(RULE, "shop.orders", "OrderPlaced", order("ord-fh-3"))
    [message] = consume(account, "rule_dlq")
    assert message["messageAttributes"]["ERROR_CODE"]["stringValue"] == "NO_RESOURCE"
    [summary] = failure_ledger().list(LedgerFilter(kinds=frozenset({FailureKind.DELIVERY}))).entries
    assert json.loads(failure_ledger().get(summary.failure_id).payload_json or "") == event
    alerts = "\n".join(bodies(account, "alerts"))
    assert f"NO_RESOURCE: {account.function_arn} does not exist" in alerts
    assert "permission problem" not in alerts


def test_a_target_outside_the_allow_list_or_an_unnamed_subscriber_is_refused_with_nothing_invoked(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    remove_permissions()
    account.hop.put_event(RULE, "shop.orders", "OrderPlaced", order("ord-fh-4"))
    account.hop.publish(account.topic_arn, json.dumps(order("ord-fh-5")))
    consume(account, "rule_dlq")
    consume(account, "subscription_dlq")
    invoked = FakeLambda()
    # A subscription's entry without target.function: the message does not name its subscriber
    unnamed = run_redrive(
        {
            "source": {"type": "ledger", "filter": {"source_arn": account.queues["subscription_dlq"][1]}},
            "dry_run": False,
        },
        invoked,
    )
    assert unnamed["failed"] == 1
    assert "does not name its subscriber; give target.function" in unnamed["failures"][0]["reason"]
    # A deployment whose allow-list does not name the function
    monkeypatch.setenv("REDRIVE_ALLOWED_FUNCTIONS", "arn:aws:lambda:eu-west-1:123456789012:function:another")
    get_config.cache_clear()
    refused = run_redrive(
        {
            "source": {"type": "ledger", "filter": {"source_arn": account.queues["rule_dlq"][1]}},
            "dry_run": False,
        },
        invoked,
    )
    assert refused["failed"] == 1
    assert "target not allowed" in refused["failures"][0]["reason"]
    assert invoked.calls == []
    pending = failure_ledger().list(
        LedgerFilter(kinds=frozenset({FailureKind.DELIVERY}), redrive_status=RedriveStatus.PENDING)
    )
    assert len(pending.entries) == 2


def test_a_rule_targets_dlq_message_in_the_consumers_dlq_is_redriven_from_there_to_its_target(
    account: Account, aws: dict[str, Any]
) -> None:
    # Given a rule target's DLQ message that reached the consumer's DLQ (the consumer could not record it)
    remove_permissions()
    event = account.hop.put_event(RULE, "shop.orders", "OrderPlaced", order("ord-fh-6"))
    sqs = aws["sqs"]
    rule_dlq_url = account.queues["rule_dlq"][0]
    [message] = sqs.receive_message(QueueUrl=rule_dlq_url, MessageAttributeNames=["All"])["Messages"]
    consumer_dlq = sqs.create_queue(QueueName="lambda-failures-dlq-test")["QueueUrl"]
    sqs.send_message(
        QueueUrl=consumer_dlq, MessageBody=message["Body"], MessageAttributes=message["MessageAttributes"]
    )
    # When it is redriven as that queue's source kind
    invoked = FakeLambda()
    report = run_redrive(
        {"source": {"type": "destination_queue", "queue_url": consumer_dlq}, "dry_run": False}, invoked
    )
    # Then the target it names got the event, and the message left the queue
    assert (report["moved"], report["failed"]) == (1, 0)
    [call] = invoked.calls
    assert (call["FunctionName"], json.loads(call["Payload"])) == (account.function_arn, event)
    assert sqs.receive_message(QueueUrl=consumer_dlq).get("Messages") is None


def test_a_filter_skips_undelivered_events_and_a_raw_message_is_refused_at_the_redrive(
    account: Account, aws: dict[str, Any]
) -> None:
    remove_permissions()
    account.hop.put_event(RULE, "shop.orders", "OrderPlaced", order("ord-fh-7"))
    consume(account, "rule_dlq")
    invoked = FakeLambda()
    # A filter that selects throttles only leaves a missing permission's entry where it is
    skipped = run_redrive(
        {
            "source": {"type": "ledger", "filter": {"source_arn": account.queues["rule_dlq"][1]}},
            "filter": {"error_types": ["THROTTLING"]},
            "dry_run": False,
        },
        invoked,
    )
    assert (skipped["skipped_by_filter"], skipped["moved"]) == (1, 0)
    # A raw SNS message (a queue or HTTP subscriber's) is recorded, but no function's event can be made of it
    raw = load_event("failures/first-hop/sns_subscription_raw.json")["Records"][0]
    sqs = aws["sqs"]
    url, arn = account.queues["subscription_dlq"]
    sqs.send_message(QueueUrl=url, MessageBody=raw["body"])
    consume(account, "subscription_dlq")
    refused = run_redrive(
        {
            "source": {"type": "ledger", "filter": {"source_arn": arn}},
            "target": {"function": account.function_arn},
            "dry_run": False,
        },
        invoked,
    )
    assert refused["failed"] == 1
    assert refused["failures"][0]["reason"].startswith("raw delivery: the DLQ holds the published message")
    assert invoked.calls == []

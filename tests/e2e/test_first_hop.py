"""The first hop on ministack: the sample's rule target and subscription keep what they cannot deliver
in their DLQs, the nested toolkit's consumer reads both, and the RedriveFunction gives the event to
the function, which applies it.

ministack 1.5.33 stores a rule target's DeadLetterConfig and a subscription's RedrivePolicy, but never
delivers to either (nor checks a function's resource-based policy): the README's table says so, and
the handler tier (tests/handlers/test_first_hop.py) covers the failing hop itself. Here the test puts
into each DLQ what the service would have, in AWS's documented format; from there on everything is
ministack's: the event source mappings, the consumer, the ledger, the redrive and the function.
"""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

from demo.stack import DEMO_PARAMETERS, Stack
from demo.story import REDRIVE_FUNCTION, ledger, new_order_id, order_state, placed, wait_for
from lambda_failure_toolkit.ledger import LedgerEntry, LedgerFilter, RedriveStatus
from tests.e2e.conftest import ACCOUNT, REGION

STAGE = DEMO_PARAMETERS["Stage"]
RULE_ARN = f"arn:aws:events:{REGION}:{ACCOUNT}:rule/order-events-{STAGE}"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:order-events-{STAGE}"


def _arn(stack: Stack, url_output: str) -> str:
    arn: str = stack.client("sqs").get_queue_attributes(
        QueueUrl=stack.outputs[url_output], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    return arn


def _recorded(stack: Stack, dlq_arn: str, order_id: str) -> LedgerEntry:
    book = ledger(stack)

    def entry() -> LedgerEntry | None:
        for summary in book.list(LedgerFilter(source_arn=dlq_arn), limit=50).entries:
            found = book.get(summary.failure_id)
            if order_id in (found.payload_json or ""):
                return found
        return None

    return wait_for(f"the undelivered {order_id} in the ledger", entry, timeout_s=60, every_s=1)


def test_the_rule_target_and_the_subscription_keep_what_they_cannot_deliver_and_the_consumer_reads_it(
    stack: Stack,
) -> None:
    [target] = [
        t
        for t in stack.client("events").list_targets_by_rule(Rule=f"order-events-{STAGE}")["Targets"]
        if t["Arn"] == FUNCTION_ARN
    ]
    assert target["DeadLetterConfig"] == {"Arn": _arn(stack, "OrderEventsRuleDLQUrl")}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    subscriptions = stack.client("sns").list_subscriptions_by_topic(
        TopicArn=stack.outputs["OrderEventsTopicArn"]
    )
    [subscription] = [s for s in subscriptions["Subscriptions"] if s["Protocol"] == "lambda"]
    attributes = stack.client("sns").get_subscription_attributes(
        SubscriptionArn=subscription["SubscriptionArn"]
    )
    assert json.loads(attributes["Attributes"]["RedrivePolicy"]) == {
        "deadLetterTargetArn": _arn(stack, "OrderEventsSubscriptionDLQUrl")
    }
    mappings = stack.client("lambda").list_event_source_mappings(
        FunctionName=stack.outputs["FailureConsumerFunctionName"]
    )["EventSourceMappings"]
    read = {m["EventSourceArn"] for m in mappings}
    assert {_arn(stack, "OrderEventsRuleDLQUrl"), _arn(stack, "OrderEventsSubscriptionDLQUrl")} <= read


def test_undelivered_events_are_recorded_then_redriven_to_the_function_which_applies_them(
    stack: Stack,
) -> None:
    sqs = stack.client("sqs")
    by_rule, by_subscription = new_order_id("hop-rule"), new_order_id("hop-sns")
    # What EventBridge writes when it may not invoke the function: the event, and why, as attributes
    event = {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "OrderPlaced",
        "source": "shop.orders",
        "account": ACCOUNT,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": placed(by_rule, 2500),
    }
    reason = {
        "RULE_ARN": RULE_ARN,
        "TARGET_ARN": FUNCTION_ARN,
        "ERROR_CODE": "NO_PERMISSIONS",
        "ERROR_MESSAGE": f"User: events.amazonaws.com is not authorized to perform: lambda:InvokeFunction on resource: {FUNCTION_ARN}",
        "RETRY_ATTEMPTS": "0",
    }
    sqs.send_message(
        QueueUrl=stack.outputs["OrderEventsRuleDLQUrl"],
        MessageBody=json.dumps(event),
        MessageAttributes={
            name: {"DataType": "String", "StringValue": value} for name, value in reason.items()
        },
    )
    # What SNS writes: the envelope it would have delivered, and nothing else
    topic = stack.outputs["OrderEventsTopicArn"]
    subscriptions = stack.client("sns").list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    [subscription] = [s["SubscriptionArn"] for s in subscriptions if s["Protocol"] == "lambda"]
    published = json.dumps(placed(by_subscription, 3100))
    envelope = {
        "Type": "Notification",
        "MessageId": str(uuid.uuid4()),
        "TopicArn": topic,
        "Message": published,
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000.pem",
        "UnsubscribeURL": f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription}",
    }
    sqs.send_message(
        QueueUrl=stack.outputs["OrderEventsSubscriptionDLQUrl"], MessageBody=json.dumps(envelope)
    )

    # The consumer's mappings take both into the ledger, as undelivered events with their event
    rule_entry = _recorded(stack, _arn(stack, "OrderEventsRuleDLQUrl"), by_rule)
    subscription_entry = _recorded(stack, _arn(stack, "OrderEventsSubscriptionDLQUrl"), by_subscription)
    assert (rule_entry.kind, rule_entry.error_type, rule_entry.function_name) == (
        "delivery",
        "NO_PERMISSIONS",
        f"order-events-{STAGE}",
    )
    assert json.loads(rule_entry.payload_json or "") == event
    assert subscription_entry.first_hop is not None
    assert subscription_entry.first_hop.subscription_arn == subscription
    assert stack.queue_depth(stack.outputs["OrderEventsRuleDLQUrl"]) == 0

    # The RedriveFunction invokes the function with each: the rule target's to the target it names,
    # the subscription's to the function it is told
    redriven: list[dict[str, Any]] = [
        stack.remote_invoke(
            REDRIVE_FUNCTION,
            {
                "source": {"type": "ledger", "failure_ids": [rule_entry.failure_id]},
                "dry_run": False,
                "requested_by": "e2e",
            },
        ),
        stack.remote_invoke(
            REDRIVE_FUNCTION,
            {
                "source": {"type": "ledger", "failure_ids": [subscription_entry.failure_id]},
                "target": {"function": f"order-events-{STAGE}"},
                "dry_run": False,
                "requested_by": "e2e",
            },
        ),
    ]
    for report in redriven:
        assert (report["status"], report["moved"], report["failed"]) == ("complete", 1, 0), report
    # And the function, given them as EventBridge and SNS would have, applies both
    for order_id in (by_rule, by_subscription):
        state = wait_for(
            f"{order_id} applied", lambda order_id=order_id: order_state(stack, order_id), timeout_s=60
        )
        assert (state.revision, state.status) == (1, "PLACED")
    book = ledger(stack)
    assert {book.get(e.failure_id).redrive_status for e in (rule_entry, subscription_entry)} == {
        RedriveStatus.REDRIVEN
    }

"""The toolkit adopted by someone else's application, as the README's "Adopt it in your application"
says, step for step, on ministack:
1. the toolkit deployed alone with the application's ARNs (conftest: `toolkit`);
2. the application deployed with the toolkit's outputs (conftest: `foreign`, tests/e2e/foreign_app/);
3. failures captured and redriven: by `dlq` and by the RedriveFunction (`sam remote invoke`)."""

import io
import json
import uuid
from typing import Any

import pytest

from demo.stack import Stack
from demo.story import ledger_entry_for, wait_for
from lambda_failure_toolkit.cli.dlq import main as dlq
from lambda_failure_toolkit.failures import parse_failure
from lambda_failure_toolkit.redrive.report import RedriveReport
from tests.e2e.conftest import FOREIGN_ARNS, TOOLKIT_STAGE
from tests.events import load_event


def _visible(stack: Stack, url: str) -> list[dict[str, Any]] | None:
    messages = (
        stack.client("sqs")
        .receive_message(QueueUrl=url, VisibilityTimeout=0, WaitTimeSeconds=1)
        .get("Messages")
    )
    return messages or None


def test_the_toolkit_deploys_alone_with_nothing_of_the_sample(toolkit: Stack) -> None:
    resources = toolkit.client("cloudformation").describe_stack_resources(StackName=toolkit.name)[
        "StackResources"
    ]
    named = " ".join(f"{r['LogicalResourceId']} {r.get('PhysicalResourceId', '')}" for r in resources).lower()
    assert "order" not in named
    functions = {r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::Lambda::Function"}
    assert functions == {f"failure-consumer-{TOOLKIT_STAGE}", f"redrive-{TOOLKIT_STAGE}"}
    assert {"FailureQueueArn", "LibraryLayerArn", "LedgerTableName", "RedriveFunctionName"} <= set(
        toolkit.outputs
    )


def test_the_foreign_dlqs_have_their_alarms(toolkit: Stack, foreign: Stack) -> None:
    alarms = toolkit.client("cloudwatch").describe_alarms(AlarmNamePrefix=toolkit.name)["MetricAlarms"]
    alarms += [
        alarm
        for alarm in toolkit.client("cloudwatch").describe_alarms()["MetricAlarms"]
        if alarm not in alarms
    ]
    watched: dict[str, set[str]] = {}
    for alarm in alarms:
        for dimension in alarm.get("Dimensions", []):
            if dimension["Name"] == "QueueName":
                watched.setdefault(dimension["Value"], set()).add(alarm["MetricName"])
    both = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
    assert watched["shop-shipments-dlq"] == watched["shop-notifications-dlq"] == both
    assert watched["shop-payments-rule-dlq"] == both


def test_the_foreign_first_hop_dlqs_are_kept_and_read_by_the_toolkits_consumer(
    toolkit: Stack, foreign: Stack
) -> None:
    # Step 2 of the recipe: the rule target and the subscription have their DLQs...
    [target] = foreign.client("events").list_targets_by_rule(Rule="shop-payments")["Targets"]
    assert target["DeadLetterConfig"]["Arn"].endswith(":shop-payments-rule-dlq")
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    sns = foreign.client("sns")
    [topic] = [
        t["TopicArn"] for t in sns.list_topics()["Topics"] if t["TopicArn"].endswith(":shop-notifications")
    ]
    [subscription] = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    redrive_policy = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
    assert json.loads(redrive_policy["Attributes"]["RedrivePolicy"])["deadLetterTargetArn"].endswith(
        ":shop-notifications-dlq"
    )
    # ...and the application's mappings hand both to the toolkit's consumer, which knows them (step 1)
    consumer = toolkit.outputs["FailureConsumerFunctionName"]
    mappings = toolkit.client("lambda").list_event_source_mappings(FunctionName=consumer)[
        "EventSourceMappings"
    ]
    read = {m["EventSourceArn"]: m for m in mappings}
    for arn in FOREIGN_ARNS["FirstHopDlqArns"].split(","):
        assert read[arn]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    environment = toolkit.client("lambda").get_function_configuration(FunctionName=consumer)["Environment"]
    assert environment["Variables"]["FIRST_HOP_DLQ_ARNS"] == FOREIGN_ARNS["FirstHopDlqArns"]


def test_a_foreign_async_failure_reaches_the_ledger_with_its_original_event(
    toolkit: Stack, foreign: Stack
) -> None:
    order_id = f"shop-{uuid.uuid4().hex[:8]}"
    event = {"order_id": order_id, "amount_cents": 1299}
    foreign.client("lambda").invoke(
        FunctionName="shop-payments", InvocationType="Event", Payload=json.dumps(event).encode()
    )
    entry = ledger_entry_for(toolkit, "shop-payments", order_id, timeout_s=90)
    assert (entry.kind, entry.condition, entry.function_name) == (
        "async",
        "RetriesExhausted",
        "shop-payments",
    )
    assert entry.payload == event


def test_a_foreign_function_uses_the_library_through_the_layer_beside_its_own_shared_folder(
    foreign: Stack,
) -> None:
    record = load_event("failures/destinations/async/retries_exhausted.json")
    answer = foreign.client("lambda").invoke(FunctionName="shop-report", Payload=json.dumps(record).encode())
    response = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer, response
    expected = parse_failure(record)
    assert response == {
        "service": "shop-report",  # from the application's own shared/config.py
        "failure_id": expected.failure_id,  # from lambda_failure_toolkit, in the toolkit's layer
        "kind": "async",
        "function": expected.function_name,
    }


@pytest.fixture(scope="module")
def parked(foreign: Stack) -> dict[str, Any]:
    """A shipment that fails, parked by SQS in the application's DLQ after its one receive."""
    body = {"shipment": f"s-{uuid.uuid4().hex[:8]}", "ok": False}
    foreign.client("sqs").send_message(
        QueueUrl=foreign.outputs["ShipmentsQueueUrl"], MessageBody=json.dumps(body)
    )
    wait_for(
        "the failed shipment in its DLQ",
        lambda: _visible(foreign, foreign.outputs["ShipmentsDLQUrl"]),
        timeout_s=90,
    )
    return body


def _parked_again(foreign: Stack, body: dict[str, Any]) -> None:
    """Still failing, it comes back to the DLQ unchanged: redriven, never lost."""
    messages = wait_for(
        "the shipment back in its DLQ",
        lambda: _visible(foreign, foreign.outputs["ShipmentsDLQUrl"]),
        timeout_s=90,
    )
    assert [json.loads(message["Body"]) for message in messages] == [body]


def test_a_foreign_dlq_is_redriven_by_the_dlq_tool(
    foreign: Stack, parked: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in foreign.account.environment().items():
        monkeypatch.setenv(name, value)
    dlq_url = foreign.outputs["ShipmentsDLQUrl"]
    out, err = io.StringIO(), io.StringIO()
    # Step 3, with the operator's own credentials: a bound, as ministack has no StartMessageMoveTask.
    arguments = [
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq_url,
        "--max-messages",
        "5",
        "--json",
    ]
    arguments += ["--endpoint-url", foreign.account.url, "--region", "us-east-1", "--execute"]
    assert dlq(arguments, out=out, err=err) == 0, err.getvalue()
    report = RedriveReport.model_validate_json(out.getvalue())
    assert (report.moved, report.failed) == (1, 0)
    assert [group.target for group in report.groups] == [
        foreign.outputs["ShipmentsQueueUrl"].rsplit("/", 1)[1]
    ]
    _parked_again(foreign, parked)


def test_a_foreign_dlq_is_redriven_by_the_redrive_function_to_a_target_it_was_given(
    toolkit: Stack, foreign: Stack, parked: dict[str, Any]
) -> None:
    dlq_url = foreign.outputs["ShipmentsDLQUrl"]
    wait_for("the shipment in its DLQ", lambda: _visible(foreign, dlq_url), timeout_s=90)
    # Its source queue is allowed only because it was passed as RedriveTargetQueueArns.
    assert "shop-shipments" in FOREIGN_ARNS["RedriveTargetQueueArns"]
    request = {"source": {"type": "sqs_dlq", "queue_url": dlq_url}, "max_messages": 5, "requested_by": "e2e"}
    report = toolkit.remote_invoke("RedriveFunction", {**request, "dry_run": False})
    assert (report["status"], report["moved"], report["failed"]) == ("complete", 1, 0), report
    _parked_again(foreign, parked)


def test_a_target_not_passed_is_refused_with_nothing_touched(
    toolkit: Stack, foreign: Stack, parked: dict[str, Any]
) -> None:
    dlq_url = foreign.outputs["ShipmentsDLQUrl"]
    wait_for("the shipment in its DLQ", lambda: _visible(foreign, dlq_url), timeout_s=90)
    before = (foreign.queue_depth(dlq_url), foreign.queue_depth(foreign.outputs["NotificationsDLQUrl"]))
    # A queue of the application that was not passed as a redrive target...
    to_queue = toolkit.remote_invoke(
        "RedriveFunction",
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq_url},
            "target": {"queue_url": foreign.outputs["NotificationsDLQUrl"]},
            "max_messages": 5,
            "dry_run": False,
            "requested_by": "e2e",
        },
    )
    # ...and a function that was not either (only shop-payments was).
    to_function = toolkit.remote_invoke(
        "RedriveFunction",
        {
            "source": {"type": "lambda_dlq", "queue_url": dlq_url, "function": "shop-notifications"},
            "target": {"function": "shop-notifications"},
            "dry_run": False,
            "requested_by": "e2e",
        },
    )
    for report in (to_queue, to_function):
        assert report["status"] == "rejected", report
        assert any("is not in the allow-list" in problem for problem in report["problems"]), report
    assert (
        foreign.queue_depth(dlq_url),
        foreign.queue_depth(foreign.outputs["NotificationsDLQUrl"]),
    ) == before

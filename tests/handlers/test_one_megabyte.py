"""1 MB events, SQS's, EventBridge's and async Lambda's limit since 2025 (SNS stays at 256 KB): one goes
through an async failure (the function's, then its OnFailure record in the failure queue), the ledger
(its body in S3) and a redrive, and comes out byte for byte; the same through the first hop."""

import json
from typing import Any

import boto3
import pytest

from lambda_failure_toolkit.failures import parse_failure
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from orders.logic import OutOfOrderEventError
from tests.first_hop import RULE, Account, as_mapping_event, order
from tests.handlers.conftest import handler_module
from tests.handlers.test_first_hop import consume, remove_permissions, run_redrive
from tests.lambda_context import FakeLambdaContext
from tests.redrive_support import FakeLambda

ONE_MB = 1_000_000
SQS_LIMIT = 1_048_576
"""SQS's message limit (1 MiB), which the OnFailure record carrying the event must fit in."""
order_events = handler_module("OrderEventsFunction")
consumer = handler_module("FailureConsumerFunction")


def padded(detail: dict[str, Any], size: int) -> str:
    """An EventBridge event of exactly `size` bytes of JSON text, its detail padded."""
    event = {
        "version": "0",
        "id": "1f3b5d7f-9a1c-4e3b-8d5f-7a9c1e3b5d71",
        "detail-type": detail["event_type"],
        "source": "shop.orders",
        "account": "123456789012",
        "time": "2026-11-21T10:00:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": detail | {"notes": ""},
    }
    text = json.dumps(event)
    return text.replace('"notes": ""', f'"notes": "{"n" * (size - len(text))}"')


def on_failure_record(event_text: str, request_id: str) -> str:
    """Lambda's OnFailure record for the event, as JSON text holding the event's own text."""
    head = json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-21T10:03:00.000Z",
            "requestContext": {
                "requestId": request_id,
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:order-events-test:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {
                "errorType": "OutOfOrderEventError",
                "errorMessage": "revision 2 arrived before 1",
            },
        }
    )
    return head[:-1] + f', "requestPayload": {event_text}}}'


def test_a_1_mb_event_survives_an_async_failure_the_ledger_and_a_redrive(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a 1 MB order event the function cannot apply yet (its revision 1 has not arrived)
    event_text = padded(order("ord-1mb", 2, "OrderPaid"), ONE_MB)
    assert len(event_text.encode()) == ONE_MB
    with pytest.raises(OutOfOrderEventError):  # transient: raised for Lambda to retry
        order_events.lambda_handler(json.loads(event_text), FakeLambdaContext())
    # When Lambda's retries run out, its OnFailure record (the event inside) goes to the failure queue
    record = on_failure_record(event_text, "0d2f4b6d-8f1a-4c3e-9a5b-7d9f1b3d5f70")
    assert len(record.encode()) <= SQS_LIMIT
    sqs = aws["sqs"]
    sqs.send_message(QueueUrl=aws["failure_queue_url"], MessageBody=record)
    failure_queue_arn = sqs.get_queue_attributes(
        QueueUrl=aws["failure_queue_url"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    records = as_mapping_event(sqs, aws["failure_queue_url"], failure_queue_arn)
    assert consumer.lambda_handler({"Records": records}, FakeLambdaContext()) == {"batchItemFailures": []}
    # Then the ledger keeps it whole, in its bucket (an item may not pass 400 KB)
    failure_id = parse_failure(record).failure_id
    entry = failure_ledger().get(failure_id)
    assert entry.body_location == "s3"
    assert entry.payload_json == event_text
    # And once revision 1 is in, the redrive invokes the function with the event, byte for byte
    order_events.lambda_handler(json.loads(padded(order("ord-1mb"), 2_000)), FakeLambdaContext())
    monkeypatch.setenv(
        "REDRIVE_ALLOWED_FUNCTIONS", "arn:aws:lambda:eu-west-1:123456789012:function:order-events-test"
    )
    invoked = FakeLambda()
    report = run_redrive(
        {"source": {"type": "ledger", "failure_ids": [failure_id]}, "dry_run": False}, invoked
    )
    assert report["moved"] == 1
    [call] = invoked.calls
    assert call["Payload"] == event_text.encode()
    assert call["InvocationType"] == "Event"  # async invocations take 1 MB
    result = order_events.lambda_handler(json.loads(call["Payload"]), FakeLambdaContext())
    assert result == {"status": "applied", "orderId": "ord-1mb", "revision": 2}


def test_a_1_mb_event_eventbridge_could_not_deliver_survives_the_ledger_and_a_redrive(
    account: Account,
) -> None:
    # Given EventBridge may not invoke the function, and a 1 MB event comes
    remove_permissions()
    detail = json.loads(padded(order("ord-1mb-hop"), ONE_MB))["detail"]
    event = account.hop.put_event(RULE, "shop.orders", "OrderPlaced", detail)
    # When its DLQ message (the event and EventBridge's attributes, within SQS's 1 MiB) is recorded
    [message] = consume(account, "rule_dlq")
    assert len(message["body"].encode()) > ONE_MB - 1_000
    [summary] = failure_ledger().list().entries
    assert failure_ledger().get(summary.failure_id).body_location == "s3"
    # Then the redrive gives the function that event, byte for byte
    boto3.client("lambda").add_permission(
        FunctionName="order-events-test",
        StatementId="events",
        Action="lambda:InvokeFunction",
        Principal="events.amazonaws.com",
        SourceArn=account.rule_arn,
    )
    invoked = FakeLambda()
    report = run_redrive(
        {"source": {"type": "ledger", "failure_ids": [summary.failure_id]}, "dry_run": False}, invoked
    )
    assert report["moved"] == 1
    assert invoked.calls[0]["Payload"] == message["body"].encode()
    assert json.loads(invoked.calls[0]["Payload"]) == event

"""Every function answers every one of its sample events exactly as AWS's semantics require."""

import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from pydantic import ValidationError

from lambda_failure_toolkit.failures import FailureKind, parse_failure
from lambda_failure_toolkit.failures.report import FailureQueueReporter
from lambda_failure_toolkit.retry import RetryPolicy, TransientError
from orders.service import OrderEventProcessor
from orders.store import DynamoDBOrderStore
from tests.events import event_files, load_event
from tests.function_events import ASYNC_CASES, BATCH_CASES, REDRIVE_CASES, AsyncCase, BatchCase
from tests.handlers.conftest import handler_module
from tests.lambda_context import FakeLambdaContext


def test_every_function_event_file_has_an_expectation() -> None:
    covered = {case.event for case in BATCH_CASES + ASYNC_CASES + REDRIVE_CASES}
    # events/failures/ holds AWS's failure records: the failure queue's are the consumer's events,
    # the rest reach it through tests/failure_queue.py (tests/handlers/test_failure_consumer.py).
    assert covered == {f for f in event_files() if not f.startswith("failures/")} | set(
        event_files("failures/failure-queue")
    )


@pytest.mark.parametrize("case", BATCH_CASES, ids=lambda c: f"{c.event}{'+' if c.env else ''}")
def test_batch_function_reports_exactly_the_failed_records(
    case: BatchCase, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given empty tables and the function's settings
    for name, value in case.env:
        monkeypatch.setenv(name, value)
    # When the function gets the sample batch
    response = handler_module(case.function).lambda_handler(load_event(case.event), FakeLambdaContext())
    # Then it reports exactly the records AWS must redeliver
    assert response == case.expected()


@pytest.mark.parametrize("case", ASYNC_CASES, ids=lambda c: c.event)
def test_async_function_outcome(case: AsyncCase, aws: dict[str, Any]) -> None:
    handler = handler_module(case.function).lambda_handler
    event = load_event(case.event)
    context = FakeLambdaContext(function_name="order-events-test")
    if case.status is None:
        # A transient failure raises, so that Lambda retries the event.
        with pytest.raises(TransientError) as raised:
            handler(event, context)
        assert type(raised.value).__name__ == case.error_type
        return
    response = handler(event, context)
    assert response["status"] == case.status
    if case.status == "rejected":
        assert response["errorType"] == case.error_type
        # The permanent failure was recorded in the failure queue, in the destination record shape.
        [message] = aws["sqs"].receive_message(QueueUrl=aws["failure_queue_url"])["Messages"]
        assert message["MessageId"] == response["failureMessageId"]
        failure = parse_failure(message, source="arn:aws:sqs:eu-west-1:123456789012:orders-failures-test")
        assert failure.kind is FailureKind.ASYNC
        assert failure.condition == "PermanentFailure"
        assert failure.function_name == "order-events-test"
        assert failure.qualifier == "$LATEST"
        assert failure.request_id == context.aws_request_id
        assert failure.payload == event
        assert failure.error is not None
        assert failure.error.type == case.error_type


def test_applied_events_reach_the_orders_table_once(aws: dict[str, Any]) -> None:
    handler = handler_module("SqsOrdersFunction").lambda_handler
    event = load_event("sqs/all_good.json")
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    # A redelivery of the same batch (new receipt, same business keys) changes nothing.
    assert handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    table = boto3.resource("dynamodb").Table("orders-test")
    order = table.get_item(Key={"order_id": "ord-1a2b3c"})["Item"]
    assert (order["revision"], order["status"]) == (2, "PAID")


def test_redrive_with_new_message_ids_is_deduplicated_on_the_business_key(
    aws: dict[str, Any], mocker: Any
) -> None:
    handler = handler_module("SqsOrdersFunction").lambda_handler
    event = load_event("sqs/all_good.json")
    handler(event, FakeLambdaContext())
    apply = mocker.patch("orders.service.apply_order_event")
    redriven = json.loads(json.dumps(event))
    for index, record in enumerate(redriven["Records"]):
        record["messageId"] = f"redriven-{index}"
    assert handler(redriven, FakeLambdaContext()) == {"batchItemFailures": []}
    apply.assert_not_called()


class ThrottlingTable:
    """The real (moto) table, except that the named calls are throttled the first `times` times."""

    def __init__(self, table: Any, operation: str, times: int) -> None:
        self._table = table
        self._operation = operation
        self.remaining = times
        self.throttled = 0

    def __getattr__(self, name: str) -> Any:
        call = getattr(self._table, name)
        if name != self._operation:
            return call

        def maybe_throttled(**kwargs: Any) -> Any:
            if self.remaining:
                self.remaining -= 1
                self.throttled += 1
                raise ClientError(
                    {
                        "Error": {"Code": "ProvisionedThroughputExceededException"},
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    name,
                )
            return call(**kwargs)

        return maybe_throttled


def _orders_with(table: ThrottlingTable) -> OrderEventProcessor:
    return OrderEventProcessor(DynamoDBOrderStore(table), persistence=None)  # type: ignore[arg-type]


def test_throttled_write_is_retried_in_process_then_succeeds(aws: dict[str, Any]) -> None:
    table = ThrottlingTable(boto3.resource("dynamodb").Table("orders-test"), "put_item", times=2)
    handler = handler_module("SqsOrdersFunction").lambda_handler
    response = handler(load_event("sqs/all_good.json"), FakeLambdaContext(), orders=_orders_with(table))
    assert response == {"batchItemFailures": []}
    assert table.throttled == 2


def test_throttling_that_outlasts_the_retries_is_reported_not_raised(aws: dict[str, Any]) -> None:
    table = ThrottlingTable(boto3.resource("dynamodb").Table("orders-test"), "get_item", times=10**6)
    handler = handler_module("KinesisOrdersFunction").lambda_handler
    event = load_event("kinesis/all_good.json")
    response = handler(event, FakeLambdaContext(), orders=_orders_with(table))
    # Fail-fast: the first record failed after its retries, so it and every later record are reported,
    # and the later ones were never tried.
    assert response == {
        "batchItemFailures": [{"itemIdentifier": r["kinesis"]["sequenceNumber"]} for r in event["Records"]]
    }
    assert table.throttled == RetryPolicy().max_attempts


def test_permanent_failure_that_cannot_be_recorded_raises_so_lambda_keeps_the_event(
    aws: dict[str, Any],
) -> None:
    handler = handler_module("OrderEventsFunction").lambda_handler
    sqs = boto3.client("sqs")
    with Stubber(sqs) as stubber:
        stubber.add_client_error("send_message", service_error_code="AccessDenied", http_status_code=403)
        # The event's own error is raised (Lambda's OnFailure record then names it), caused by the refusal.
        with pytest.raises(ValidationError) as raised:
            handler(
                load_event("order-events/poison_eventbridge.json"),
                FakeLambdaContext(),
                failure_reporter=FailureQueueReporter(sqs, aws["failure_queue_url"]),
            )
        stubber.assert_no_pending_responses()
    assert isinstance(raised.value.__cause__, ClientError)
    assert "AccessDenied" in str(raised.value.__cause__)


def test_missing_configuration_fails_naming_the_variable(
    aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambda_failure_toolkit.config import ConfigError

    monkeypatch.delenv("ORDERS_TABLE_NAME")
    with pytest.raises(ConfigError, match="ORDERS_TABLE_NAME is not set"):
        handler_module("SqsOrdersFunction").lambda_handler(
            load_event("sqs/all_good.json"), FakeLambdaContext()
        )


def test_sns_event_with_several_records_is_rejected_as_poison(aws: dict[str, Any]) -> None:
    event = load_event("order-events/sns_order_placed.json")
    event["Records"].append(event["Records"][0])
    response = handler_module("OrderEventsFunction").lambda_handler(event, FakeLambdaContext())
    assert (response["status"], response["errorType"]) == ("rejected", "PoisonRecordError")

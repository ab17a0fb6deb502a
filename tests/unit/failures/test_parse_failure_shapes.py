"""Every shape, condition and wrapper in events/ becomes the right FailureRecord."""

import json
from datetime import UTC, datetime
from typing import Any, NamedTuple

import pytest

from lambda_failure_toolkit.failures import (
    FailureKind,
    FailureRecord,
    UnrecognizedFailureError,
    UnrecognizedReason,
    parse_failure,
)
from tests.events import FIRST_HOP_DLQS, event_files, load_event

ACCOUNT, REGION = "123456789012", "eu-west-1"
ASYNC_FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-async-processor"
STREAM_FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-stream-processor"
KAFKA_FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders-kafka-consumer"
KINESIS = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/orders-stream"
DDB = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/orders/stream/2026-11-02T09:15:27.841"
FAILURE_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-failures"
FAILURE_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-failures"
DLQ_QUEUE = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders-async-processor-dlq"
DLQ_TOPIC = f"arn:aws:sns:{REGION}:{ACCOUNT}:orders-async-processor-dlq"
RETRIES_EXHAUSTED_ID = "7c1f5b8e-2a4d-4f3b-9e61-0d8a2c4b6e13"


class Expected(NamedTuple):
    kind: FailureKind
    condition: str | None
    function_arn: str | None
    qualifier: str | None
    channels: tuple[str, ...]
    attempts: int | None


A, S, D, F = FailureKind.ASYNC, FailureKind.STREAM, FailureKind.DLQ, FailureKind.DELIVERY
RETRIES = Expected(A, "RetriesExhausted", ASYNC_FN, "$LATEST", (), 3)
ORDER_EVENTS_FN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:order-events-dev"
SUBSCRIPTION = Expected(F, None, None, None, ("sqs",), None)

# One row per record in each file; a new event file without a row here fails test_every_event_file_is_covered.
EXPECTED: dict[str, list[Expected]] = {
    "failures/destinations/async/retries_exhausted.json": [RETRIES],
    "failures/destinations/async/retries_exhausted_runtime_crash.json": [RETRIES],
    "failures/destinations/async/retries_exhausted_timeout.json": [RETRIES],
    "failures/destinations/async/retries_exhausted_direct_invoke.json": [RETRIES._replace(attempts=1)],
    "failures/destinations/async/success.json": [Expected(A, "Success", ASYNC_FN, "live", (), 1)],
    "failures/destinations/async/event_age_exceeded.json": [
        Expected(A, "EventAgeExceeded", ASYNC_FN, "$LATEST", (), 2)
    ],
    "failures/destinations/async/event_age_exceeded_never_ran.json": [
        Expected(A, "EventAgeExceeded", ASYNC_FN, "$LATEST", (), 0)
    ],
    "failures/destinations/async/zero_reserved_concurrency.json": [
        Expected(A, "ZeroReservedConcurrency", ASYNC_FN, "$LATEST", (), 0)
    ],
    "failures/destinations/s3/async_object.json": [RETRIES],
    "failures/destinations/s3/kinesis_object_escaped_payload.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", (), 4)
    ],
    "failures/destinations/s3/kinesis_object_payload.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", (), 4)
    ],
    "failures/destinations/stream/kinesis_retry_attempts_exhausted.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", (), 4)
    ],
    "failures/destinations/stream/kinesis_function_error_unqualified.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, None, (), 4)
    ],
    "failures/destinations/stream/kinesis_record_age_exceeded.json": [
        Expected(S, "RecordAgeExceeded", STREAM_FN, "live", (), 2)
    ],
    "failures/destinations/stream/dynamodb_function_error.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", (), 4)
    ],
    "failures/destinations/stream/dynamodb_batch_item_failures.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", (), 4)
    ],
    "failures/destinations/stream/kafka_maximum_payload_size_exceeded.json": [
        Expected(S, "MaximumPayloadSizeExceeded", KAFKA_FN, None, (), 1)
    ],
    "failures/destinations/stream/kafka_topic_destination_record.json": [
        Expected(S, "RetriesExhausted", KAFKA_FN, "$LATEST", (), 3)
    ],
    "failures/dlq/sqs_lambda_dlq.json": [Expected(D, None, None, None, ("sqs",), None)],
    "failures/dlq/sqs_lambda_dlq_zero_reserved_concurrency.json": [
        Expected(D, None, None, None, ("sqs",), None)
    ],
    "failures/dlq/sns_lambda_dlq.json": [Expected(D, None, None, None, ("sns",), None)],
    "failures/dlq/sqs_from_sns_lambda_dlq.json": [Expected(D, None, None, None, ("sqs", "sns"), None)],
    "failures/dlq/sqs_from_sns_raw_lambda_dlq.json": [Expected(D, None, None, None, ("sqs",), None)],
    "failures/eventbridge/invocation_failure.json": [RETRIES._replace(channels=("eventbridge",))],
    "failures/eventbridge/invocation_failure_aws_lambda_source.json": [
        Expected(A, "EventAgeExceeded", ASYNC_FN, "$LATEST", ("eventbridge",), 2)
    ],
    "failures/eventbridge/invocation_success.json": [
        Expected(A, "Success", ASYNC_FN, "live", ("eventbridge",), 1)
    ],
    "failures/failure-queue/async_retries_exhausted.json": [RETRIES._replace(channels=("sqs",))],
    "failures/failure-queue/from_sns.json": [RETRIES._replace(channels=("sqs", "sns"))],
    "failures/failure-queue/from_sns_raw_delivery.json": [RETRIES._replace(channels=("sqs",))],
    "failures/failure-queue/from_eventbridge.json": [RETRIES._replace(channels=("sqs", "eventbridge"))],
    "failures/failure-queue/stream_kinesis.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", ("sqs",), 4)
    ],
    "failures/failure-queue/mixed_batch.json": [
        RETRIES._replace(channels=("sqs",)),
        Expected(A, "ZeroReservedConcurrency", ASYNC_FN, "$LATEST", ("sqs",), 0),
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", ("sqs",), 4),
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", ("sqs",), 4),
    ],
    "failures/failure-topic/async_retries_exhausted.json": [RETRIES._replace(channels=("sns",))],
    "failures/first-hop/eventbridge_no_permissions.json": [
        Expected(F, None, ORDER_EVENTS_FN, None, ("sqs",), 1)
    ],
    "failures/first-hop/eventbridge_retries_exhausted.json": [
        Expected(F, "MaximumEventAgeInSeconds", ORDER_EVENTS_FN, "live", ("sqs",), 38),
        Expected(F, None, ORDER_EVENTS_FN, None, ("sqs",), 1),
    ],
    "failures/first-hop/sns_subscription.json": [SUBSCRIPTION],
    "failures/first-hop/sns_subscription_fifo.json": [SUBSCRIPTION],
    "failures/first-hop/sns_subscription_raw.json": [SUBSCRIPTION],
    "failures/failure-topic/stream_dynamodb.json": [
        Expected(S, "RetryAttemptsExhausted", STREAM_FN, "live", ("sns",), 4)
    ],
}
# Files that hold records parse_failure must refuse (by design), with the reason it must give.
REFUSED: dict[str, list[UnrecognizedReason]] = {
    "failures/failure-queue/mixed_batch.json": [UnrecognizedReason.UNKNOWN_SHAPE],
    "failures/s3/failure_object_created.json": [UnrecognizedReason.S3_NOTIFICATION],
}


def _records(relative: str) -> list[Any]:
    event = load_event(relative)
    if "Records" in event and relative.split("/")[1] in {
        "dlq",
        "failure-queue",
        "failure-topic",
        "first-hop",
    }:
        return list(event["Records"])
    return [event]


def _outcomes(relative: str) -> tuple[list[FailureRecord], list[UnrecognizedReason]]:
    parsed, refused = [], []
    for item in _records(relative):
        try:
            parsed.append(parse_failure(item, first_hop_dlqs=FIRST_HOP_DLQS))
        except UnrecognizedFailureError as error:
            refused.append(error.reason)
    return parsed, refused


def test_every_event_file_is_covered() -> None:
    assert set(event_files("failures")) == set(EXPECTED) | set(REFUSED)


@pytest.mark.parametrize("relative", sorted(set(EXPECTED) | set(REFUSED)))
def test_event_file_parses_to_expected_records(relative: str) -> None:
    # Given a sample event as AWS delivers it
    # When every record in it is parsed
    parsed, refused = _outcomes(relative)
    # Then each record has the expected kind, condition, function, qualifier, envelopes and attempts
    assert [
        Expected(r.kind, r.condition, r.function_arn, r.qualifier, r.delivery.channels, r.attempts)
        for r in parsed
    ] == EXPECTED.get(relative, [])
    assert refused == REFUSED.get(relative, [])


@pytest.mark.parametrize(
    "relative",
    [
        "failures/destinations/async/retries_exhausted.json",
        "failures/destinations/s3/async_object.json",
        "failures/eventbridge/invocation_failure.json",
        "failures/failure-queue/async_retries_exhausted.json",
        "failures/failure-queue/from_sns.json",
        "failures/failure-queue/from_sns_raw_delivery.json",
        "failures/failure-queue/from_eventbridge.json",
        "failures/failure-topic/async_retries_exhausted.json",
    ],
)
def test_the_same_record_in_any_envelope_has_the_same_id_and_content(relative: str) -> None:
    bare = parse_failure(load_event("failures/destinations/async/retries_exhausted.json"))
    wrapped = parse_failure(_records(relative)[0])
    assert wrapped.failure_id == bare.failure_id
    # payload_json is the payload's own text: there when the record came as text, in any envelope
    assert wrapped.model_dump(exclude={"delivery", "payload_json"}) == bare.model_dump(
        exclude={"delivery", "payload_json"}
    )
    assert wrapped.payload_json is None or json.loads(wrapped.payload_json) == bare.payload


def test_async_failure_carries_error_payload_and_request() -> None:
    record = parse_failure(load_event("failures/destinations/async/retries_exhausted.json"))
    assert record.request_id == RETRIES_EXHAUSTED_ID
    assert record.function_name == "orders-async-processor"
    assert record.occurred_at == datetime(2026, 11, 20, 9, 2, 11, 348000, tzinfo=UTC)
    assert record.error is not None
    assert record.error.type == "InventoryUnavailableError"
    assert record.error.message == "downstream inventory service returned 503"
    assert record.error.function_error == "Unhandled"
    assert record.error.status_code == 200
    assert len(record.error.stack_trace) == 2
    assert "reserve" in record.error.stack_trace[1]
    assert record.has_payload
    assert isinstance(record.payload, dict)
    assert record.payload["detail"] == {
        "order_id": "ord-7f3c9a21",
        "customer_id": "cus-1042",
        "total_cents": 4599,
        "currency": "EUR",
        "items": [{"sku": "BOOK-0193", "quantity": 1}],
    }
    assert record.is_failure
    assert record.stream is None


def test_runtime_crash_has_type_and_message_but_no_stack() -> None:
    record = parse_failure(load_event("failures/destinations/async/retries_exhausted_runtime_crash.json"))
    assert record.error is not None
    assert record.error.type == "Runtime.ExitError"
    assert record.error.message is not None
    assert "signal: killed" in record.error.message
    assert record.error.stack_trace == ()


def test_timeout_has_only_a_message() -> None:
    record = parse_failure(load_event("failures/destinations/async/retries_exhausted_timeout.json"))
    assert record.error is not None
    assert record.error.type is None
    assert record.error.message is not None
    assert "Task timed out" in record.error.message


def test_success_record_is_not_a_failure_and_keeps_the_response() -> None:
    record = parse_failure(load_event("failures/destinations/async/success.json"))
    assert not record.is_failure
    assert record.error is None
    assert record.response_payload == {"order_id": "ord-7f3c9a21", "status": "RESERVED"}


def test_event_age_exceeded_keeps_the_last_attempts_error_when_the_function_ran() -> None:
    record = parse_failure(load_event("failures/destinations/async/event_age_exceeded.json"))
    assert record.error is not None
    assert record.error.type == "InventoryUnavailableError"


@pytest.mark.parametrize(
    "relative",
    [
        "failures/destinations/async/event_age_exceeded_never_ran.json",
        "failures/destinations/async/zero_reserved_concurrency.json",
    ],
)
def test_never_ran_has_no_error_but_keeps_the_payload(relative: str) -> None:
    record = parse_failure(load_event(relative))
    assert record.error is None
    assert record.response_payload is None
    assert record.has_payload
    assert record.payload == load_event(relative)["requestPayload"]


def test_missing_request_payload_is_told_apart_from_null() -> None:
    record = load_event("failures/destinations/async/zero_reserved_concurrency.json")
    null_payload = parse_failure({**record, "requestPayload": None})
    no_payload = parse_failure({k: v for k, v in record.items() if k != "requestPayload"})
    assert null_payload.has_payload
    assert null_payload.payload is None
    assert not no_payload.has_payload


@pytest.mark.parametrize(
    "payload", [None, 0, -1.5, "text", [], [1, {"a": None}], True, {"nested": {"deep": [1]}}]
)
def test_async_payload_may_be_any_json_value(payload: Any) -> None:
    record = load_event("failures/destinations/async/retries_exhausted.json")
    parsed = parse_failure({**record, "requestPayload": payload, "responsePayload": payload})
    assert parsed.payload == payload
    assert parsed.response_payload == payload


def test_kinesis_pointer() -> None:
    record = parse_failure(load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json"))
    assert record.source_arn == KINESIS
    assert record.stream is not None
    assert record.stream.source == "kinesis"
    assert record.stream.stream_arn == KINESIS
    assert record.stream.shard_id == "shardId-000000000003"
    assert record.stream.start_sequence_number == "49656997393519438722486093257181468219394578345126854658"
    assert record.stream.end_sequence_number == "49656997393519438722486093257186303752419318453416460290"
    assert record.stream.batch_size == 3
    assert record.stream.ranges[0].first_arrival == datetime(2026, 11, 20, 11, 39, 58, 427000, tzinfo=UTC)
    # functionError null: the function reported batchItemFailures rather than raising
    assert record.error is not None
    assert record.error.function_error is None
    assert not record.has_payload


def test_record_age_exceeded_has_no_response() -> None:
    record = parse_failure(load_event("failures/destinations/stream/kinesis_record_age_exceeded.json"))
    assert record.error is None


def test_dynamodb_pointer_with_second_precision_timestamps() -> None:
    record = parse_failure(load_event("failures/destinations/stream/dynamodb_function_error.json"))
    assert record.stream is not None
    assert record.stream.source == "dynamodb"
    assert record.source_arn == DDB
    assert record.stream.ranges[0].last_arrival == datetime(2026, 11, 20, 11, 45, 12, tzinfo=UTC)
    assert record.error is not None
    assert record.error.function_error == "Unhandled"


def test_kafka_pointer_has_one_range_per_partition() -> None:
    record = parse_failure(
        load_event("failures/destinations/stream/kafka_maximum_payload_size_exceeded.json")
    )
    assert record.stream is not None
    assert record.stream.source == "kafka"
    assert record.stream.payload_size == 7340032
    assert record.stream.bootstrap_servers is not None
    assert [(r.shard_id, r.first, r.last) for r in record.stream.ranges] == [
        ("orders-placed-0", "48213", "48462"),
        ("orders-placed-1", "47990", "48239"),
    ]
    # responseContext is null for MaximumPayloadSizeExceeded
    assert record.error is None


def test_kafka_topic_destination_record_names_its_partition_from_the_event() -> None:
    record = parse_failure(load_event("failures/destinations/stream/kafka_topic_destination_record.json"))
    assert record.stream is not None
    assert [(r.shard_id, r.first, r.last) for r in record.stream.ranges] == [
        ("orders-placed-0", "48470", "48470")
    ]
    assert record.has_payload


def test_kafka_topic_destination_record_without_event_has_no_partition() -> None:
    raw = load_event("failures/destinations/stream/kafka_topic_destination_record.json")
    del raw["payload"]
    record = parse_failure(raw)
    assert record.stream is not None
    assert record.stream.shard_id is None


@pytest.mark.parametrize(
    "relative",
    [
        "failures/destinations/s3/kinesis_object_escaped_payload.json",
        "failures/destinations/s3/kinesis_object_payload.json",
    ],
)
def test_s3_stream_object_carries_the_whole_batch_either_way(relative: str) -> None:
    object_body = load_event(relative)
    key = "aws/lambda/3f1c9e2a-7b4d-4e8f-a6c1-2d5e8b0f4a73/shardId-000000000003/2026/11/20/2026-11-20T11.40.03-5b7d"
    record = parse_failure(
        json.dumps(object_body).encode(), source=f"s3://orders-failures-123456789012/{key}"
    )
    assert record.has_payload
    assert isinstance(record.payload, dict)
    records = record.payload["Records"]
    assert isinstance(records, list)
    assert len(records) == 3
    assert record.delivery.channels == ("s3",)
    assert record.delivery.s3_location == f"s3://orders-failures-123456789012/{key}"
    assert (
        record.failure_id
        == parse_failure(
            load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
        ).failure_id
    )


@pytest.mark.parametrize(
    ("relative", "source_arn", "message_id"),
    [
        ("failures/dlq/sqs_lambda_dlq.json", DLQ_QUEUE, "e5a7c9e1-b3d5-4f7a-9c1e-3b5d7f9a1c35"),
        ("failures/dlq/sns_lambda_dlq.json", DLQ_TOPIC, "9b1d3f5a-7c9e-5b1d-3f5a-7c9e1b3d5f7a"),
        ("failures/dlq/sqs_from_sns_lambda_dlq.json", DLQ_TOPIC, "1b3d5f7a-9c1e-4b3d-8f5a-7c9e1b3d5f79"),
        (
            "failures/dlq/sqs_from_sns_raw_lambda_dlq.json",
            FAILURE_QUEUE,
            "3d5f7a9c-1e3b-4d5f-9a7c-9e1b3d5f7a91",
        ),
    ],
)
def test_lambda_dlq_message_in_every_envelope(relative: str, source_arn: str, message_id: str) -> None:
    record = parse_failure(_records(relative)[0])
    assert record.request_id == RETRIES_EXHAUSTED_ID
    assert record.source_arn == source_arn
    assert record.delivery.message_id == message_id
    assert record.error is not None
    assert record.error.status_code == 200
    assert record.error.message == "downstream inventory service returned 503"
    assert isinstance(record.payload, dict)
    assert record.payload["detail-type"] == "OrderPlaced"
    assert record.occurred_at is not None
    # The DLQ copy and the destination copy of one event share the request id, not the failure id.
    assert (
        record.failure_id
        != parse_failure(load_event("failures/destinations/async/retries_exhausted.json")).failure_id
    )


def test_dlq_message_read_with_the_sqs_api() -> None:
    # Given a Lambda DLQ message as ReceiveMessage returns it (boto3's shape), not as a Lambda event
    lambda_record = _records("failures/dlq/sqs_lambda_dlq.json")[0]
    api_message = {
        "MessageId": lambda_record["messageId"],
        "ReceiptHandle": lambda_record["receiptHandle"],
        "MD5OfBody": lambda_record["md5OfBody"],
        "Body": lambda_record["body"],
        "Attributes": {"ApproximateReceiveCount": "2", "SentTimestamp": "1795251731398"},
        "MessageAttributes": {
            name: {"StringValue": value["stringValue"], "DataType": value["dataType"]}
            for name, value in lambda_record["messageAttributes"].items()
        },
    }
    # When it is parsed, naming the queue it came from
    record = parse_failure(api_message, source=DLQ_QUEUE)
    # Then it is the same failure as the Lambda-event form
    assert record.failure_id == parse_failure(lambda_record).failure_id
    assert record.source_arn == DLQ_QUEUE
    assert record.delivery.receive_count == 2
    assert record.occurred_at == datetime.fromtimestamp(1795251731.398, tz=UTC)


def test_dlq_message_without_error_code_is_still_a_dlq_message() -> None:
    record_in = _records("failures/dlq/sqs_lambda_dlq.json")[0]
    del record_in["messageAttributes"]["ErrorCode"]
    record = parse_failure(record_in)
    assert record.kind is FailureKind.DLQ
    assert record.error is not None
    assert record.error.status_code is None


def test_dlq_message_whose_body_is_not_json_keeps_the_text() -> None:
    record_in = _records("failures/dlq/sqs_lambda_dlq.json")[0]
    record_in["body"] = "plain text event"
    assert parse_failure(record_in).payload == "plain text event"


def test_failure_queue_delivery_facts() -> None:
    record = parse_failure(_records("failures/failure-queue/from_sns.json")[0])
    assert record.delivery.queue_arn == FAILURE_QUEUE
    assert record.delivery.topic_arn == FAILURE_TOPIC
    assert record.delivery.message_id == "8a0c2e4a-6c8e-4a0c-9e2a-4c6e8a0c2e41"
    assert record.delivery.receive_count == 1


def test_eventbridge_delivery_names_the_bus() -> None:
    record = parse_failure(load_event("failures/eventbridge/invocation_failure.json"))
    assert record.delivery.event_bus_arn == f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/orders-failures"
    assert record.delivery.message_id == "1f3b5d7f-9a1c-3e5a-7c9e-1b3d5f7a9c2e"


def test_undocumented_condition_is_accepted() -> None:
    # Recursive-loop detection sends events to destinations with a condition AWS has not documented.
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    raw["requestContext"]["condition"] = "RecursiveInvocationDetected"
    record = parse_failure(raw)
    assert record.condition == "RecursiveInvocationDetected"
    assert record.is_failure


def test_unknown_extra_keys_are_ignored() -> None:
    raw = load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
    raw["newTopLevelKey"] = {"x": 1}
    raw["KinesisBatchInfo"]["newInfoKey"] = "y"
    assert (
        parse_failure(raw).failure_id
        == parse_failure(
            load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
        ).failure_id
    )


def test_json_text_and_bytes_parse_like_the_mapping() -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    text = json.dumps(raw)
    expected = parse_failure(raw).model_copy(update={"payload_json": json.dumps(raw["requestPayload"])})
    assert parse_failure(text) == expected
    assert parse_failure(text.encode()) == expected
    assert parse_failure(bytearray(text.encode())) == expected


def test_parse_does_not_change_its_input() -> None:
    raw = _records("failures/failure-queue/from_sns.json")[0]
    notification = json.loads(raw["body"])
    before = json.dumps(raw, sort_keys=True)
    parse_failure(raw)
    parse_failure(notification)
    assert json.dumps(raw, sort_keys=True) == before
    assert "SigningCertURL" in notification


def test_sqs_api_message_without_attributes() -> None:
    lambda_record = _records("failures/dlq/sqs_lambda_dlq.json")[0]
    api_message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": lambda_record["body"],
        "MessageAttributes": {"RequestID": {"StringValue": "req-1", "DataType": "String"},
                              "ErrorMessage": {"StringValue": "boom", "DataType": "String"}},
    }  # fmt: skip
    record = parse_failure(api_message)
    assert record.request_id == "req-1"
    assert record.delivery.receive_count is None
    assert record.occurred_at is None
    assert record.source_arn is None


@pytest.mark.parametrize("sent", ["99999999999999999999", "not-a-time", "1" * 30])
def test_sent_timestamp_out_of_range_is_unknown_not_an_error(sent: str) -> None:
    lambda_record = _records("failures/dlq/sqs_lambda_dlq.json")[0]
    api_message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": lambda_record["body"],
        "Attributes": {"SentTimestamp": sent, "ApproximateReceiveCount": sent},
        "MessageAttributes": {"RequestID": {"StringValue": "req-1", "DataType": "String"},
                              "ErrorCode": {"StringValue": "200", "DataType": "Number"}},
    }  # fmt: skip
    record = parse_failure(api_message)
    assert record.occurred_at is None


@pytest.mark.parametrize(
    ("trace", "expected"), [("one line", ("one line",)), (7, ()), ([1, "a"], ("1", "a"))]
)
def test_stack_trace_in_any_form(trace: Any, expected: tuple[str, ...]) -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    raw["responsePayload"]["stackTrace"] = trace
    error = parse_failure(raw).error
    assert error is not None
    assert error.stack_trace == expected


def test_multi_partition_kafka_batch_has_no_single_range_shortcuts() -> None:
    raw = load_event("failures/destinations/stream/kafka_maximum_payload_size_exceeded.json")
    info = raw["KafkaBatchInfo"]["recordsInfo"]
    info["orders-placed-10"] = info["orders-placed-1"]
    info["orders-placed-2"] = info["orders-placed-0"]
    pointer = parse_failure(raw).stream
    assert pointer is not None
    assert (pointer.shard_id, pointer.start_sequence_number, pointer.end_sequence_number) == (
        None,
        None,
        None,
    )
    assert [r.shard_id for r in pointer.ranges] == [
        "orders-placed-0",
        "orders-placed-1",
        "orders-placed-2",
        "orders-placed-10",
    ]


def test_single_range_shortcuts_for_kinesis() -> None:
    pointer = parse_failure(
        load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
    ).stream
    assert pointer is not None
    assert pointer.shard_id == pointer.ranges[0].shard_id
    assert pointer.end_sequence_number == pointer.ranges[0].last


@pytest.mark.parametrize(
    "function_arn",
    [
        "arn:aws-eusc:lambda:eusc-de-east-1:123456789012:function:orders:live",
        "arn:aws-us-gov:lambda:us-gov-west-1:123456789012:function:orders:$LATEST",
        "arn:aws-cn:lambda:cn-north-1:123456789012:function:orders:3",
        "arn:aws:lambda:ap-southeast-7:123456789012:function:orders",
    ],
)
def test_function_arns_of_every_partition(function_arn: str) -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    raw["requestContext"]["functionArn"] = function_arn
    assert parse_failure(raw).function_name == "orders"


def test_nodejs_stack_trace_is_kept() -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    raw["responsePayload"] = {
        "errorType": "TypeError",
        "errorMessage": "Cannot read properties of undefined (reading 'id')",
        "trace": [
            "TypeError: Cannot read properties of undefined",
            "    at Runtime.handler (/var/task/index.js:3:21)",
        ],
    }
    error = parse_failure(raw).error
    assert error is not None
    assert error.stack_trace[1] == "    at Runtime.handler (/var/task/index.js:3:21)"

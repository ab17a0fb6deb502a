"""Anything that is not a failure record AWS writes gets one documented error that says what and where."""

import json
from typing import Any

import pytest

from lambda_failure_toolkit.failures import (
    FailureRecord,
    UnrecognizedFailureError,
    UnrecognizedReason,
    parse_failure,
)
from tests.events import load_event

R = UnrecognizedReason
DDB_RECORD = "failures/destinations/stream/dynamodb_function_error.json"
CARD_NUMBER = "4111-1111-1111-1111"  # a payload value that must never reach an error message


def _sqs_record(body: str) -> dict[str, Any]:
    record: dict[str, Any] = load_event("failures/failure-queue/async_retries_exhausted.json")["Records"][0]
    return {**record, "body": body}


def _outcome(raw: object) -> FailureRecord | UnrecognizedFailureError:
    try:
        return parse_failure(raw)
    except UnrecognizedFailureError as error:
        return error


def _refuse(raw: object, **kwargs: Any) -> UnrecognizedFailureError:
    with pytest.raises(UnrecognizedFailureError) as caught:
        parse_failure(raw, **kwargs)
    return caught.value


@pytest.mark.parametrize(
    ("raw", "reason", "path", "seen"),
    [
        ("not json at all", R.NOT_JSON, (), "a string of 15 characters that is not JSON"),
        (b"\xff\xfe\x00garbage", R.NOT_JSON, (), "bytes that are not UTF-8"),
        (42, R.NOT_JSON, (), "a int"),
        (None, R.NOT_JSON, (), "null"),
        (["a", "list"], R.NOT_JSON, (), "a list of 2 items"),
        ("[1, 2]", R.UNKNOWN_SHAPE, (), "JSON text holding a list of 2 items"),
        ("null", R.UNKNOWN_SHAPE, (), "JSON text holding null"),
        ({}, R.UNKNOWN_SHAPE, (), "an object with keys []"),
        ({"card": CARD_NUMBER}, R.UNKNOWN_SHAPE, (), "an object with keys ['card']"),
        (_sqs_record("not json"), R.NOT_JSON, ("sqs",), "a string of 8 characters that is not JSON"),
        (_sqs_record(json.dumps({"order": CARD_NUMBER})), R.UNKNOWN_SHAPE, ("sqs",), "keys ['order']"),
        ("[" * 100_000, R.TOO_DEEP, (), "nested deeper"),
    ],
)
def test_refused_input_says_what_was_seen_and_where(
    raw: object, reason: UnrecognizedReason, path: tuple[str, ...], seen: str
) -> None:
    error = _refuse(raw)
    assert error.reason is reason
    assert error.path == path
    assert seen in error.seen
    assert error.expected
    assert seen in str(error)
    assert CARD_NUMBER not in str(error)


def test_whole_batch_event_is_refused_with_the_fix() -> None:
    error = _refuse(load_event("failures/failure-queue/mixed_batch.json"))
    assert error.reason is R.BATCH_EVENT
    assert "5 records" in error.seen
    assert "one record at a time" in error.expected


def test_s3_notification_is_refused_with_the_fix() -> None:
    error = _refuse(
        load_event("failures/s3/failure_object_created.json")["Records"][0] | {"Records": [{"s3": {}}]}
    )
    assert error.reason is R.S3_NOTIFICATION
    assert "source='s3://" in error.expected


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda r: r["requestContext"].pop("requestId"), "requestContext.requestId: Field required"),
        (lambda r: r["requestContext"].update(functionArn="my-function"), "requestContext.functionArn"),
        (lambda r: r["requestContext"].update(approximateInvokeCount=-1), "approximateInvokeCount"),
        (lambda r: r["requestContext"].update(condition=""), "requestContext.condition"),
        (
            lambda r: r["requestContext"].update(condition="Retries Exhausted; DROP"),
            "requestContext.condition",
        ),
        (lambda r: r.update(timestamp="yesterday"), "timestamp"),
        (lambda r: r.update(timestamp="2026-11-20T09:02:11"), "timestamp"),  # AWS always says the zone
        (lambda r: r.update(responseContext={"statusCode": "two hundred"}), "responseContext.statusCode"),
    ],
)
def test_invalid_async_record_names_the_field(mutate: Any, problem: str) -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    mutate(raw)
    error = _refuse(raw)
    assert error.reason is R.INVALID_RECORD
    assert problem in error.seen
    assert "async invocation record" in error.expected


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (
            lambda r: r.update(DDBStreamBatchInfo=load_event(DDB_RECORD)["DDBStreamBatchInfo"]),
            "exactly one of KinesisBatchInfo, DDBStreamBatchInfo, KafkaBatchInfo; got 2",
        ),
        (
            lambda r: r.pop("KinesisBatchInfo"),
            "exactly one of KinesisBatchInfo, DDBStreamBatchInfo, KafkaBatchInfo; got 0",
        ),
        (
            lambda r: r["KinesisBatchInfo"].update(streamArn="arn:aws:sqs:eu-west-1:123456789012:q"),
            "streamArn",
        ),
        (lambda r: r["KinesisBatchInfo"].update(batchSize=0), "batchSize"),
        (lambda r: r["KinesisBatchInfo"].pop("shardId"), "KinesisBatchInfo.shardId"),
        (lambda r: r.update(payload="{not json"), "payload is a string but not JSON"),
        (lambda r: r.update(payload="[1, 2]"), "payload"),
    ],
)
def test_invalid_stream_record_names_the_field(mutate: Any, problem: str) -> None:
    raw = load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
    mutate(raw)
    error = _refuse(raw)
    assert error.reason is R.INVALID_RECORD
    assert problem in error.seen


def test_kafka_record_needs_exactly_one_kind_of_record_info() -> None:
    raw = load_event("failures/destinations/stream/kafka_maximum_payload_size_exceeded.json")
    raw["KafkaBatchInfo"]["recordInfo"] = {"offset": "1", "timestamp": "2026-11-20T13:05:40.101Z"}
    assert "recordsInfo" in _refuse(raw).seen


def test_dlq_message_with_non_numeric_error_code_is_invalid() -> None:
    record: dict[str, Any] = load_event("failures/dlq/sqs_lambda_dlq.json")["Records"][0]
    record["messageAttributes"]["ErrorCode"]["stringValue"] = "two hundred"
    error = _refuse(record)
    assert error.reason is R.INVALID_RECORD
    assert "ErrorCode" in error.seen
    assert error.path == ("sqs",)


@pytest.mark.parametrize(
    ("source", "detail_type"),
    [
        ("shop.orders", "Lambda Function Invocation Result - Failure"),
        ("lambda", "OrderPlaced"),
        ("aws.lambda", "Lambda Function Invocation Result - Timeout"),
    ],
)
def test_eventbridge_event_that_is_not_an_invocation_result(source: str, detail_type: str) -> None:
    event = load_event("failures/eventbridge/invocation_failure.json") | {
        "source": source,
        "detail-type": detail_type,
    }
    error = _refuse(event)
    assert error.reason is R.UNKNOWN_SHAPE
    assert repr(source) in error.seen
    assert "Lambda Function Invocation Result" in error.expected


def test_eventbridge_detail_type_must_agree_with_the_condition() -> None:
    event = load_event("failures/eventbridge/invocation_success.json")
    event["detail-type"] = "Lambda Function Invocation Result - Failure"
    error = _refuse(event)
    assert error.reason is R.INVALID_RECORD
    assert "condition is Success" in error.seen


def test_eventbridge_detail_must_be_an_async_record() -> None:
    event = load_event("failures/eventbridge/invocation_failure.json")
    event["detail"] = load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
    error = _refuse(event)
    assert error.reason is R.UNKNOWN_SHAPE
    assert error.path == ("eventbridge",)


def test_an_envelope_inside_the_wrong_envelope_is_refused() -> None:
    # SNS cannot deliver an SQS record; an EventBridge detail cannot hold an SNS notification.
    inner = load_event("failures/failure-queue/async_retries_exhausted.json")["Records"][0]
    sns_event = load_event("failures/failure-topic/async_retries_exhausted.json")["Records"][0]
    sns_event["Sns"]["Message"] = json.dumps(inner)
    error = _refuse(sns_event)
    assert error.reason is R.UNKNOWN_SHAPE
    assert error.path == ("sns",)
    assert "cannot be here" in error.seen


def test_invalid_envelope_names_the_envelope_and_field() -> None:
    record = load_event("failures/failure-queue/async_retries_exhausted.json")["Records"][0]
    del record["messageId"]
    error = _refuse(record)
    assert error.reason is R.INVALID_RECORD
    assert "SQS record" in error.seen
    assert "messageId" in error.seen


def test_invalid_source_is_refused() -> None:
    error = _refuse(
        load_event("failures/destinations/async/retries_exhausted.json"), source="orders-failures.json"
    )
    assert error.path == ("source",)
    assert "s3://bucket/key" in error.expected


def test_many_problems_are_summarised() -> None:
    raw = {"requestContext": {}, "version": 1}
    error = _refuse(raw)
    assert error.reason is R.INVALID_RECORD
    assert "more)" in error.seen


def test_error_is_a_value_error_with_a_readable_message() -> None:
    error = _refuse({"unexpected": True})
    assert isinstance(error, ValueError)
    assert str(error).startswith("unrecognized failure record (unknown_shape) at top level: saw ")


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_payload_nested_past_any_real_event_is_refused_with_a_short_message() -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json") | {"requestPayload": _nested(5000)}
    error = _refuse(raw)
    assert error.reason is R.INVALID_RECORD
    assert "requestPayload" in error.seen
    assert len(str(error)) < 1000


def test_escaped_payload_nested_past_what_python_decodes_is_too_deep() -> None:
    raw = load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json") | {
        "payload": "[" * 100_000
    }
    error = _refuse(raw)
    assert error.reason is R.TOO_DEEP
    assert "stream on-failure record" in error.seen


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("arn:aws:sqs:eu-west-1:123456789012:q", "queue_arn"),
        ("arn:aws:sns:eu-west-1:123456789012:t", "topic_arn"),
    ],
)
def test_source_arn_fills_in_what_the_message_does_not_say(source: str, field: str) -> None:
    record = parse_failure(load_event("failures/destinations/async/retries_exhausted.json"), source=source)
    expected = {"queue_arn": None, "topic_arn": None} | {field: source}
    assert record.delivery.model_dump(include={"queue_arn", "topic_arn"}) == expected
    assert record.delivery.channels == ()


@pytest.mark.parametrize("sns", [None, "text", 3, ["list"]])
def test_sns_record_whose_notification_is_not_an_object(sns: Any) -> None:
    record = load_event("failures/failure-topic/async_retries_exhausted.json")["Records"][0] | {"Sns": sns}
    error = _refuse(record)
    assert error.reason is R.INVALID_RECORD
    assert "whose Sns is a" in error.seen


@pytest.mark.parametrize("depth", [255, 256, 300])
def test_dlq_body_nested_deep_is_refused_without_quoting_it(depth: int) -> None:
    record: dict[str, Any] = load_event("failures/dlq/sqs_lambda_dlq.json")["Records"][0]
    record["body"] = "[" * depth + json.dumps(CARD_NUMBER) + "]" * depth
    outcome = _outcome(record)
    if isinstance(outcome, UnrecognizedFailureError):
        assert outcome.reason is R.INVALID_RECORD
        assert CARD_NUMBER not in str(outcome)
        assert len(str(outcome)) < 1000
    else:
        assert isinstance(outcome.payload, list)


@pytest.mark.parametrize("depth", [250, 254, 255, 256])
@pytest.mark.parametrize("escaped", [True, False])
def test_stream_payload_nested_deep_never_escapes_the_contract(depth: int, escaped: bool) -> None:
    raw = load_event("failures/destinations/s3/kinesis_object_payload.json")
    payload: Any = CARD_NUMBER
    for _ in range(depth):
        payload = {"k": payload}
    raw["payload"] = json.dumps(payload) if escaped else payload
    outcome = _outcome(raw)
    if isinstance(outcome, UnrecognizedFailureError):
        assert outcome.reason is R.INVALID_RECORD
        assert CARD_NUMBER not in str(outcome)


@pytest.mark.parametrize("source", [b"arn:aws:sqs:eu-west-1:123456789012:q", 42, ["s3://b/k"]])
def test_source_that_is_not_a_string(source: Any) -> None:
    error = _refuse(load_event("failures/destinations/async/retries_exhausted.json"), source=source)
    assert error.path == ("source",)


def test_sqs_record_whose_body_is_an_object() -> None:
    record = load_event("failures/failure-queue/async_retries_exhausted.json")["Records"][0] | {"body": {}}
    error = _refuse(record)
    assert error.reason is R.INVALID_RECORD
    assert "body is a dict" in error.seen


@pytest.mark.parametrize("count", ["3", 3.0, True, -1])
def test_counts_are_json_integers(count: Any) -> None:
    raw = load_event("failures/destinations/async/retries_exhausted.json")
    raw["requestContext"]["approximateInvokeCount"] = count
    assert "approximateInvokeCount" in _refuse(raw).seen

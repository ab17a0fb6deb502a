"""Hostile input to every function, in-process against moto.

Malformed JSON bodies, wrong types, bodies of SQS's 256 KiB and 1 MiB, huge strings in fields,
unexpected extra keys, missing keys, base64 and UTF-8 garbage in Kinesis data, garbage DynamoDB
images, garbage failure records, and malformed envelopes (which Lambda never sends; `sam local
invoke` or a direct `Invoke` can).

- Batch functions: a hostile record mixed with good ones is reported exactly as AWS's semantics
  require (SQS standard and streams processing every record: the hostile records; FIFO and
  fail-fast streams: the first hostile record and every record after it, or per message group),
  the good records before it are applied, the function never raises for a record, and no record
  is lost: each is either applied (its order is in the table, its failure in the ledger) or
  reported, never both, never neither.
- A malformed envelope is refused whole with `MalformedBatchEventError` naming the problem, and
  nothing in it is processed.
- The async function records a hostile event as a `PermanentFailure` in the failure queue,
  carrying the event; when even that record cannot be sent, it raises so Lambda keeps the event.
- The redrive function answers every hostile request with a `rejected` report naming the problem,
  and touches no queue, function or ledger entry.

Examples are a tenth of the profile's (30 by default, 750 with `--hypothesis-profile=thorough`):
each one runs a function against moto.
"""

import base64
import copy
import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from lambda_failure_toolkit.batch import MalformedBatchEventError
from lambda_failure_toolkit.failures import FailureKind, parse_failure
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from lambda_failure_toolkit.redrive.report import RedriveReport
from tests.events import load_event
from tests.failure_queue import async_record, sqs_message
from tests.handlers.conftest import handler_module
from tests.lambda_context import FakeLambdaContext
from tests.redrive_seed import ORDER_EVENTS_DLQ, ORDERS_DLQ, ORDERS_QUEUE, queue_url

HOSTILE = settings(
    max_examples=max(10, settings.default.max_examples // 10),
    deadline=None,
    # Each example starts from the same moto account (`aws`); the test makes every id it uses unique.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.large_base_example,
    ],
)
FAILURE_QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:orders-failures-test"
KIB = 1024

# ---------------------------------------------------------------- values

json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
not_objects = json_leaves | st.lists(json_values, max_size=3)
# Keys no record shape uses: a dict of them is never an order event nor a failure record.
extra_keys = st.dictionaries(st.text(max_size=10).map(lambda key: f"x-{key}"), json_values, max_size=4)
sizes = st.sampled_from([300 * KIB, 1000 * KIB])
"""Past SQS's old 256 KiB limit, and near its 1 MiB one."""


def order_event(order_id: str) -> dict[str, Any]:
    return {
        "order_id": order_id,
        "revision": 1,
        "event_type": "OrderPlaced",
        "occurred_at": "2026-11-20T10:00:00Z",
        "customer_id": "cus-1042",
        "total_cents": 4599,
        "currency": "EUR",
        "items": [{"sku": "BOOK-0193", "quantity": 1}],
    }


# Values each field of an order event can never hold (pydantic's lax mode takes "1" for 1 and an
# integer for a timestamp, so those are not here).
BAD_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "order_id": st.sampled_from(["", "has space", "semi;colon", "é", "x" * 65, None, 7, ["ord-1"]])
    | sizes.map(lambda size: "o" * size),
    "revision": st.integers(max_value=0) | st.sampled_from(["one", 1.5, None, [], {}]),
    "event_type": st.sampled_from(["OrderDeleted", "orderplaced", "", None, 3, ["OrderPlaced"]]),
    "occurred_at": st.sampled_from(
        ["2026-11-20T10:00:00", "yesterday", "", "2026-02-30T10:00:00Z", None, []]
    ),
    "customer_id": st.sampled_from(["c" * 65, 42, ["cus-1"]]) | sizes.map(lambda size: "c" * size),
    "total_cents": st.integers(max_value=-1) | st.sampled_from(["cheap", 1.5, []]),
    "currency": st.sampled_from(["eur", "EURO", "", "E1R", 978]),
    "items": st.sampled_from(
        ["BOOK", [5], [{"sku": ""}], [{"sku": "a", "quantity": 0}], [{"sku": "a"}], {"sku": "a"}]
    ),
}


@st.composite
def invalid_order_events(draw: st.DrawFn) -> dict[str, Any]:
    """An order event with one field missing or holding a value it never may, maybe extra keys."""
    event = order_event("ord-never-applied") | draw(extra_keys)
    field = draw(st.sampled_from(sorted(BAD_FIELDS)))
    if field in {"order_id", "revision", "event_type", "occurred_at"} and draw(st.booleans()):
        del event[field]
    else:
        event[field] = draw(BAD_FIELDS[field])
    return event


hostile_texts = st.one_of(
    st.text(max_size=50),  # not JSON, or JSON that is no order event
    not_objects.map(json.dumps),
    extra_keys.map(json.dumps),
    invalid_order_events().map(json.dumps),
    st.integers(1, 150).map(lambda cut: json.dumps(order_event("ord-cut"))[:cut]),  # truncated JSON
    st.just("[" * 5000 + "]" * 5000),  # deeper than any parser recurses
    st.just('{"order_id": "\\ud800"}'),  # a lone surrogate
    sizes.map(lambda size: "x" * size),  # an oversized body, not JSON
    sizes.map(lambda size: json.dumps({"padding": "x" * size})),  # oversized JSON, no order event
)
"""Text that is never an order event as JSON: what a hostile producer puts in a body."""


def good_event(order_id: str, extra: dict[str, Any], padding: int) -> dict[str, Any]:
    """A valid order event; producers may add keys (ignored), even oversized ones."""
    return order_event(order_id) | extra | ({"x-padding": "p" * padding} if padding else {})


good_extras = st.tuples(extra_keys, st.sampled_from([0, 0, 0, 200 * KIB, 900 * KIB]))
# What a DynamoDB item can hold: numbers of at most 38 digits, no floats' binary fractions, under 400 KB.
dynamodb_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)
dynamodb_extras = st.tuples(
    st.dictionaries(st.text(max_size=10).map(lambda key: f"x-{key}"), dynamodb_values, max_size=4),
    st.sampled_from([0, 0, 0, 300 * KIB]),
)


def batches(
    hostile: st.SearchStrategy[Any], good: st.SearchStrategy[Any] = good_extras
) -> st.SearchStrategy[list[tuple[bool, Any]]]:
    """(is it hostile, what it is) per record: at least one hostile record, good ones around it."""
    record = st.tuples(st.just(False), good) | st.tuples(st.just(True), hostile)
    return st.tuples(
        st.lists(record, max_size=3), st.tuples(st.just(True), hostile), st.lists(record, max_size=3)
    ).map(lambda parts: [*parts[0], parts[1], *parts[2]])


def orders_applied(order_ids: list[str]) -> list[bool]:
    table = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE_NAME"])
    applied = []
    for order_id in order_ids:
        item = table.get_item(Key={"order_id": order_id}, ConsistentRead=True).get("Item")
        applied.append(item is not None and int(item["revision"]) == 1)
    return applied


def assert_nothing_lost(
    response: dict[str, Any], ids: list[str], hostile: list[bool], expected: list[int], applied: list[bool]
) -> None:
    """The response reports exactly `expected` (by index, in batch order); every hostile record is
    among them; every good record is applied if and only if it is not reported."""
    reported = [item["itemIdentifier"] for item in response["batchItemFailures"]]
    assert reported == [ids[index] for index in expected]
    assert all(index in expected for index, bad in enumerate(hostile) if bad)
    for index, bad in enumerate(hostile):
        if not bad:
            assert applied[index] == (index not in expected), (index, applied, expected)


def from_first_failure(hostile: list[bool]) -> list[int]:
    first = hostile.index(True)
    return list(range(first, len(hostile)))


def only_failures(hostile: list[bool]) -> list[int]:
    return [index for index, bad in enumerate(hostile) if bad]


# ---------------------------------------------------------------- SQS standard and FIFO


def sqs_hostility() -> st.SearchStrategy[Callable[[dict[str, Any]], None]]:
    """A change that makes an SQS record hostile: its body, or (never from SQS) its other fields."""

    def body(text: str) -> Callable[[dict[str, Any]], None]:
        return lambda record: record.update(body=text)

    def field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda record: record.update({name: value})

    return (
        hostile_texts.map(body)
        | not_objects.filter(lambda value: not isinstance(value, str)).map(lambda value: field("body", value))
        | st.sampled_from(
            [
                field("body", {"order_id": "ord-1"}),  # an object where SQS always has a string
                field("attributes", "garbage"),
                field("messageAttributes", ["garbage"]),
                field("eventSource", "aws:sns"),
            ]
        )
    )


def sqs_batch(
    specs: list[tuple[bool, Any]], sample: str, groups: list[int] | None = None
) -> tuple[dict[str, Any], list[str], list[str]]:
    """The event, its message ids and the order id of each record."""
    template = load_event(sample)["Records"][0]
    run = uuid.uuid4().hex[:12]
    records, order_ids = [], []
    for index, (bad, what) in enumerate(specs):
        record = copy.deepcopy(template)
        record["messageId"] = f"{run}-{index}"
        order_ids.append(f"ord-{run}-{index}")
        if groups is not None:
            record["attributes"]["MessageGroupId"] = f"group-{groups[index]}"
        record["body"] = json.dumps(good_event(order_ids[index], *what) if not bad else order_event("unused"))
        if bad:
            what(record)
        records.append(record)
    return {"Records": records}, [r["messageId"] for r in records], order_ids


@HOSTILE
@given(specs=batches(sqs_hostility()))
def test_sqs_standard_reports_exactly_the_hostile_messages_and_applies_the_rest(
    specs: list[tuple[bool, Any]], aws: dict[str, Any]
) -> None:
    event, ids, order_ids = sqs_batch(specs, "sqs/all_good.json")
    response = handler_module("SqsOrdersFunction").lambda_handler(event, FakeLambdaContext())
    hostile = [bad for bad, _ in specs]
    assert_nothing_lost(response, ids, hostile, only_failures(hostile), orders_applied(order_ids))


@pytest.mark.parametrize("skip_group_on_error", [False, True], ids=["stop-at-first", "skip-group"])
@HOSTILE
@given(data=st.data())
def test_sqs_fifo_reports_the_hostile_message_and_what_must_wait_for_it(
    skip_group_on_error: bool, data: st.DataObject, aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIFO_SKIP_GROUP_ON_ERROR", str(skip_group_on_error).lower())
    specs = data.draw(batches(sqs_hostility()))
    groups = data.draw(st.lists(st.integers(0, 2), min_size=len(specs), max_size=len(specs)))
    event, ids, order_ids = sqs_batch(specs, "sqs-fifo/all_good.json", groups)
    response = handler_module("SqsFifoOrdersFunction").lambda_handler(event, FakeLambdaContext())
    hostile = [bad for bad, _ in specs]
    if skip_group_on_error:
        # Every message of a group from its first failure on; a message whose attributes are not
        # an object has no group that SQS gave it, so nothing else waits on it.
        broken: set[int] = set()
        expected = []
        for index, bad in enumerate(hostile):
            group = event["Records"][index]["attributes"]
            group = group.get("MessageGroupId") if isinstance(group, dict) else None
            if bad or groups[index] in broken:
                if group is not None:
                    broken.add(groups[index])
                expected.append(index)
    else:
        expected = from_first_failure(hostile)
    assert_nothing_lost(response, ids, hostile, expected, orders_applied(order_ids))


# ---------------------------------------------------------------- Kinesis


def kinesis_hostility() -> st.SearchStrategy[Callable[[dict[str, Any]], None]]:
    """A change that makes a Kinesis record hostile: what its data decodes to, or the data itself."""

    def data(value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda record: record["kinesis"].update(data=value)

    def encoded(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return st.one_of(
        hostile_texts.map(lambda text: data(encoded(text.encode("utf-8", "surrogatepass")))),
        st.binary(max_size=64).map(lambda raw: data(encoded(b"\xff" + raw))),  # not UTF-8
        st.text(alphabet="!#$%&*()[]{}<>?~ ", min_size=1, max_size=30).map(data),  # not base64
        st.just(data("YQ")),  # base64 missing its padding
        not_objects.filter(lambda value: not isinstance(value, str)).map(data),
        st.just(lambda record: record["kinesis"].pop("data")),
        sizes.map(lambda size: data(encoded(b"\xff" * (size * 3 // 4)))),  # about a Kinesis record's 1 MiB
    )


def kinesis_batch(specs: list[tuple[bool, Any]]) -> tuple[dict[str, Any], list[str], list[str]]:
    template = load_event("kinesis/all_good.json")["Records"][0]
    run = uuid.uuid4().hex[:12]
    records, order_ids = [], []
    for index, (bad, what) in enumerate(specs):
        record = copy.deepcopy(template)
        record["kinesis"]["sequenceNumber"] = str(
            49656997393519438722486093257181468219394578345126854658 + index
        )
        order_ids.append(f"ord-{run}-{index}")
        event = good_event(order_ids[index], *what) if not bad else order_event("unused")
        record["kinesis"]["data"] = base64.b64encode(json.dumps(event).encode()).decode()
        if bad:
            what(record)
        records.append(record)
    return {"Records": records}, [r["kinesis"]["sequenceNumber"] for r in records], order_ids


@pytest.mark.parametrize("fail_fast", [True, False], ids=["fail-fast", "every-record"])
@HOSTILE
@given(specs=batches(kinesis_hostility()))
def test_kinesis_reports_the_hostile_record_and_what_must_wait_for_it(
    fail_fast: bool, specs: list[tuple[bool, Any]], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_FAIL_FAST", str(fail_fast).lower())
    event, ids, order_ids = kinesis_batch(specs)
    response = handler_module("KinesisOrdersFunction").lambda_handler(event, FakeLambdaContext())
    hostile = [bad for bad, _ in specs]
    expected = from_first_failure(hostile) if fail_fast else only_failures(hostile)
    assert_nothing_lost(response, ids, hostile, expected, orders_applied(order_ids))


# ---------------------------------------------------------------- DynamoDB Streams


def typed(value: Any) -> dict[str, Any]:
    """A JSON value in DynamoDB's attribute-value format, as a stream image carries it."""
    match value:
        case None:
            return {"NULL": True}
        case bool():
            return {"BOOL": value}
        case int() | float():
            return {"N": repr(value)}
        case str():
            return {"S": value}
        case list():
            return {"L": [typed(item) for item in value]}
        case _:
            return {"M": {str(key): typed(item) for key, item in value.items()}}


GARBAGE_IMAGES: list[Any] = [
    [],
    "order",
    {"order_id": "ord-1"},
    {"order_id": {"X": "ord-1"}},
    {"order_id": {}},
    {"revision": {"N": "one"}},
    {"revision": {"N": "1e999999"}},
    {"items": {"L": 5}},
    {"items": {"L": [{"M": [1]}]}},
    {"tags": {"NS": ["a"]}},
]


def dynamodb_hostility() -> st.SearchStrategy[Callable[[dict[str, Any]], None]]:
    def image(value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda record: record["dynamodb"].update(NewImage=value)

    def field(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
        return lambda record: record.update({name: value})

    return st.one_of(
        st.sampled_from(GARBAGE_IMAGES).map(image),  # not DynamoDB's attribute-value format
        invalid_order_events().map(lambda event: image(typed(event)["M"])),  # an item, not an order event
        st.just(lambda record: record["dynamodb"].pop("NewImage")),  # an INSERT without its image
        st.sampled_from(["UPSERT", None, 5]).map(lambda name: field("eventName", name)),
        st.just(lambda record: record["dynamodb"].update(Keys={"order_id": {"Q": "1"}})),
        st.just(
            lambda record: (
                record.update(eventName="REMOVE")
                or record["dynamodb"].update(OldImage={"order_id": {"N": "not a number"}})
            )
        ),
    )


def dynamodb_batch(specs: list[tuple[bool, Any]]) -> tuple[dict[str, Any], list[str], list[str]]:
    template = load_event("dynamodb/all_good.json")["Records"][0]
    run = uuid.uuid4().hex[:12]
    records, order_ids = [], []
    for index, (bad, what) in enumerate(specs):
        record = copy.deepcopy(template)
        record["dynamodb"]["SequenceNumber"] = str(1405400000000017330000000 + index)
        order_ids.append(f"ord-{run}-{index}")
        event = good_event(order_ids[index], *what) if not bad else order_event("unused")
        record["dynamodb"]["NewImage"] = typed(event)["M"]
        record["dynamodb"]["Keys"] = {"order_id": {"S": event["order_id"]}, "revision": {"N": "1"}}
        if bad:
            what(record)
        records.append(record)
    return {"Records": records}, [r["dynamodb"]["SequenceNumber"] for r in records], order_ids


@pytest.mark.parametrize("fail_fast", [True, False], ids=["fail-fast", "every-record"])
@HOSTILE
@given(specs=batches(dynamodb_hostility(), dynamodb_extras))
def test_dynamodb_streams_reports_the_hostile_record_and_what_must_wait_for_it(
    fail_fast: bool, specs: list[tuple[bool, Any]], aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_FAIL_FAST", str(fail_fast).lower())
    event, ids, order_ids = dynamodb_batch(specs)
    response = handler_module("DynamoDBOrdersFunction").lambda_handler(event, FakeLambdaContext())
    hostile = [bad for bad, _ in specs]
    expected = from_first_failure(hostile) if fail_fast else only_failures(hostile)
    assert_nothing_lost(response, ids, hostile, expected, orders_applied(order_ids))


# ---------------------------------------------------------------- the failure consumer


def _broken_failure(change: Callable[[dict[str, Any]], Any]) -> str:
    record = async_record({"order_id": "o-1"}, f"req-{uuid.uuid4()}")
    change(record)
    return json.dumps(record)


def _s3_notification(s3: Any) -> str:
    return json.dumps({"Records": [{"eventSource": "aws:s3", "s3": s3}]})


failure_garbage = st.one_of(
    hostile_texts,  # not JSON, not an object, an order event: no failure record AWS writes
    st.sampled_from(
        [
            _broken_failure(lambda r: r.pop("requestContext")),
            _broken_failure(lambda r: r.update(requestContext="RetriesExhausted")),
            _broken_failure(lambda r: r["requestContext"].update(functionArn="order-events-test")),
            _broken_failure(lambda r: r["requestContext"].update(approximateInvokeCount=-1)),
            _broken_failure(lambda r: r["requestContext"].update(approximateInvokeCount="3")),
            _broken_failure(lambda r: r["requestContext"].update(requestId="")),
            _broken_failure(lambda r: r["requestContext"].update(condition="Retries Exhausted")),
            _broken_failure(lambda r: r.update(timestamp="yesterday")),
            _broken_failure(lambda r: r.update(timestamp="9999-12-31T23:00:00-05:00")),
            _broken_failure(lambda r: r.update(version="")),
            # A stream record with no batch info, or two.
            _broken_failure(lambda r: r["requestContext"].update(condition="RetryAttemptsExhausted")),
            _broken_failure(lambda r: r.update(KinesisBatchInfo={}, DDBStreamBatchInfo={})),
            # S3 notifications that do not name an object that exists.
            _s3_notification(5),
            _s3_notification({}),
            _s3_notification({"bucket": {"name": 5}, "object": {"key": ["k"]}}),
            _s3_notification({"bucket": {"name": "no-such-bucket-here"}, "object": {"key": "aws/lambda/x"}}),
            json.dumps(
                {"Type": "Notification", "TopicArn": "arn:aws:sns:eu-west-1:123456789012:t", "Message": 5}
            ),
            json.dumps({"Records": [async_record(None, "req-batch")]}),  # a whole Lambda event
        ]
    ),
)


def failure_hostility() -> st.SearchStrategy[Callable[[dict[str, Any]], None]]:
    def body(text: str) -> Callable[[dict[str, Any]], None]:
        return lambda message: message.update(body=text)

    return failure_garbage.map(body) | st.sampled_from(
        [
            lambda message: message.update(attributes="garbage"),
            lambda message: message.update(eventSource="aws:kinesis"),
        ]
    )


@HOSTILE
@given(specs=batches(failure_hostility()))
def test_the_failure_consumer_reports_what_it_cannot_record_and_records_the_rest(
    specs: list[tuple[bool, Any]], aws: dict[str, Any]
) -> None:
    run = uuid.uuid4().hex[:12]
    messages, failure_ids = [], []
    for index, (bad, what) in enumerate(specs):
        extra, padding = ({}, 0) if bad else what
        payload = good_event(f"ord-{run}-{index}", extra, padding)
        message = sqs_message(json.dumps(async_record(payload, f"req-{run}-{index}") | extra))
        message["messageId"] = f"{run}-{index}"
        # The entry a good message must make (for a hostile one: the entry its body would have made).
        failure_ids.append(parse_failure(message).failure_id)
        if bad:
            what(message)
        messages.append(message)
    response = handler_module("FailureConsumerFunction").lambda_handler(
        {"Records": messages}, FakeLambdaContext()
    )
    hostile = [bad for bad, _ in specs]
    assert_nothing_lost(
        response,
        [m["messageId"] for m in messages],
        hostile,
        only_failures(hostile),
        [failure_ledger().exists(failure_id) for failure_id in failure_ids],
    )


# ---------------------------------------------------------------- malformed envelopes

BATCH_FUNCTIONS = {
    "SqsOrdersFunction": ("sqs/all_good.json", "messageId"),
    "SqsFifoOrdersFunction": ("sqs-fifo/all_good.json", "messageId"),
    "KinesisOrdersFunction": ("kinesis/all_good.json", "kinesis.sequenceNumber"),
    "DynamoDBOrdersFunction": ("dynamodb/all_good.json", "dynamodb.SequenceNumber"),
    "FailureConsumerFunction": ("failures/failure-queue/async_retries_exhausted.json", "messageId"),
}


def malformed_envelopes(good: dict[str, Any], identifier: str) -> list[tuple[Any, str]]:
    """Envelopes Lambda never sends, each with the problem it must be refused for. Good records in
    them must not be processed: the envelope is refused before any record is."""
    top, _, inner = identifier.partition(".")
    no_identifier = copy.deepcopy(good)
    (no_identifier[top] if inner else no_identifier).pop(inner or top)
    return [
        (None, "the event is null, not an object"),
        ([good], "the event is a list of 1 items, not an object"),
        (json.dumps({"Records": [good]}), "the event is a string of"),
        ({}, "the event has no Records (its keys: none)"),
        ({"Records": good}, "Records is an object, not a list"),
        ({"Records": "[]"}, "Records is a string of 2 characters, not a list"),
        ({"Records": []}, "Records is empty"),
        ({"Records": [good, None]}, "Records[1] is null, not an object"),
        ({"Records": [good, json.dumps(good)]}, "Records[1] is a string of"),
        ({"Records": [good, no_identifier]}, f"Records[1].{identifier} is missing"),
    ]


def nothing_processed() -> bool:
    orders = boto3.client("dynamodb").scan(TableName=os.environ["ORDERS_TABLE_NAME"])["Items"]
    ledger = boto3.client("dynamodb").scan(TableName=os.environ["LEDGER_TABLE_NAME"])["Items"]
    return not orders and not ledger


@pytest.mark.parametrize("function", sorted(BATCH_FUNCTIONS))
def test_a_malformed_envelope_is_refused_naming_the_problem_and_nothing_in_it_is_processed(
    function: str, aws: dict[str, Any]
) -> None:
    sample, identifier = BATCH_FUNCTIONS[function]
    good = load_event(sample)["Records"][0]
    for event, problem in malformed_envelopes(good, identifier):
        with pytest.raises(MalformedBatchEventError) as refused:
            handler_module(function).lambda_handler(copy.deepcopy(event), FakeLambdaContext())
        assert refused.value.problem.startswith(problem), (event, refused.value.problem)
        assert "Nothing was processed" in str(refused.value)
        assert nothing_processed(), event
    # The same record in a well-formed envelope is processed: the refusal was the envelope's.
    assert handler_module(function).lambda_handler({"Records": [good]}, FakeLambdaContext()) == {
        "batchItemFailures": []
    }
    assert not nothing_processed()


@pytest.mark.parametrize("function", sorted(BATCH_FUNCTIONS))
@HOSTILE
@given(
    event=not_objects
    | st.fixed_dictionaries({"Records": not_objects})
    | st.fixed_dictionaries({"Records": st.lists(not_objects, min_size=1, max_size=3)})
    | extra_keys
)
def test_any_event_that_is_no_batch_is_refused_with_the_typed_error(
    function: str, event: Any, aws: dict[str, Any]
) -> None:
    with pytest.raises(MalformedBatchEventError) as refused:
        handler_module(function).lambda_handler(event, FakeLambdaContext())
    assert str(refused.value).startswith("not a ")
    assert refused.value.problem


# ---------------------------------------------------------------- the async function


def drain_failure_queue(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages = []
    while (
        batch := aws["sqs"]
        .receive_message(QueueUrl=aws["failure_queue_url"], MaxNumberOfMessages=10)
        .get("Messages")
    ):
        for message in batch:
            messages.append(message)
            aws["sqs"].delete_message(
                QueueUrl=aws["failure_queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )
    return messages


def eventbridge_with(detail: Any) -> dict[str, Any]:
    return load_event("order-events/eventbridge_order_placed.json") | {"detail": detail}


def eventbridge_without(key: str) -> dict[str, Any]:
    event = load_event("order-events/eventbridge_order_placed.json")
    event["detail"] = order_event("ord-never-applied")  # valid: the envelope is what is wrong
    del event[key]
    return event


def sns_with(message: Any) -> dict[str, Any]:
    event = load_event("order-events/sns_order_placed.json")
    event["Records"][0]["Sns"]["Message"] = message
    return event


def sns_records(records: Any) -> dict[str, Any]:
    return load_event("order-events/sns_order_placed.json") | {"Records": records}


hostile_async_events = st.one_of(
    invalid_order_events(),  # a direct Invoke
    not_objects,
    extra_keys,
    (invalid_order_events() | not_objects | extra_keys).map(eventbridge_with),
    st.sampled_from(["source", "time", "account", "detail"]).map(eventbridge_without),
    hostile_texts.map(sns_with),
    not_objects.filter(lambda value: not isinstance(value, str)).map(sns_with),
    st.sampled_from([[], "Records", {"Sns": {}}, [{"Sns": "garbage"}]]).map(sns_records),
    st.just(None).map(lambda _: sns_records(load_event("order-events/sns_order_placed.json")["Records"] * 2)),
)


@HOSTILE
@given(event=hostile_async_events)
def test_a_hostile_async_event_is_recorded_as_a_permanent_failure_that_carries_it(
    event: Any, aws: dict[str, Any]
) -> None:
    context = FakeLambdaContext(function_name="order-events-test")
    response = handler_module("OrderEventsFunction").lambda_handler(copy.deepcopy(event), context)
    # A typed poison error (never an AttributeError or a TypeError from inside), and returned, not
    # raised: Lambda's retries could not help.
    assert response["status"] == "rejected"
    assert response["errorType"] in {"ValidationError", "PoisonRecordError"}
    [message] = drain_failure_queue(aws)
    assert message["MessageId"] == response["failureMessageId"]
    failure = parse_failure(message, source=FAILURE_QUEUE_ARN)
    assert (failure.kind, failure.condition) == (FailureKind.ASYNC, "PermanentFailure")
    assert failure.request_id == context.aws_request_id
    assert failure.has_payload
    assert failure.payload == event
    assert failure.error is not None
    assert failure.error.type == response["errorType"]


@HOSTILE
@given(
    wrap=st.sampled_from(["direct", "eventbridge", "sns"]),
    extra=extra_keys,
    padding=st.sampled_from([0, 200 * KIB]),
)
def test_an_async_order_event_with_unexpected_keys_is_applied(
    wrap: str, extra: dict[str, Any], padding: int, aws: dict[str, Any]
) -> None:
    order_id = f"ord-{uuid.uuid4().hex[:12]}"
    detail = good_event(order_id, extra, padding)
    event = {"direct": detail, "eventbridge": eventbridge_with(detail), "sns": sns_with(json.dumps(detail))}[
        wrap
    ]
    response = handler_module("OrderEventsFunction").lambda_handler(event, FakeLambdaContext())
    assert response == {"status": "applied", "orderId": order_id, "revision": 1}
    assert orders_applied([order_id]) == [True]
    assert drain_failure_queue(aws) == []


def test_a_poison_event_too_big_for_its_failure_record_raises_so_that_lambda_keeps_it(
    aws: dict[str, Any],
) -> None:
    # Given a poison event whose PermanentFailure record would pass SQS's 1 MiB
    event = order_event("ord-oversized") | {"revision": "one", "x-padding": "p" * (1024 * KIB)}
    # When the function gets it, the record cannot be sent: it raises the event's own error (Lambda
    # retries the event, then its OnFailure destination and DLQ take it), rather than returning as if
    # recorded; SQS's refusal is the cause
    with pytest.raises(ValidationError) as raised:
        handler_module("OrderEventsFunction").lambda_handler(event, FakeLambdaContext())
    assert isinstance(raised.value.__cause__, ClientError)
    assert "Message must be shorter than" in str(raised.value.__cause__)
    assert drain_failure_queue(aws) == []


# ---------------------------------------------------------------- the redrive function

READ_ONLY = {"GetQueueAttributes", "Query", "GetItem", "ListDeadLetterSourceQueues"}


def queue_counts(sqs: Any, name: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url(name),
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def _mutated(sample: str, path: tuple[str, ...], value: Any) -> dict[str, Any]:
    request = load_event(f"redrive/{sample}")
    parent = request
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
    if value is _DROP:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return request


_DROP = object()
REAL_RUN = "redrive-sqs-dlq.json"
"""A request that, as it is, moves the DLQ's three messages: each mutation must stop that."""
# (path, values) that no request may hold, each certain to make a request refused.
HOSTILE_CHANGES: list[tuple[tuple[str, ...], st.SearchStrategy[Any]]] = [
    (("dry_run",), st.sampled_from(["false", "no", 0, None, [], "False"])),  # pydantic took these for false
    (("x-unknown",), json_values),
    (("source", "x-unknown"), json_values),
    (("filter", "x-unknown"), json_values),
    (("source",), st.just(_DROP) | not_objects),
    (("source", "type"), st.just(_DROP) | st.sampled_from(["kafka", "", None, 5, "SQS_DLQ"])),
    (
        ("source", "queue_url"),
        st.just(_DROP) | st.sampled_from(["orders-dlq", "", None, 7]) | sizes.map("q".__mul__),
    ),
    (("max_messages",), st.sampled_from([0, -1, 10**7, "many", [], {}])),
    (("concurrency",), st.sampled_from([0, 50, "four", None])),
    (("rate_per_second",), st.sampled_from([0, -5, 5000, "fast", []])),
    (("keep_source",), st.sampled_from(["yes", 1, None])),
    (("requested_by",), sizes.map("r".__mul__) | st.integers()),
    (
        ("filter", "error_message_pattern"),
        st.sampled_from(["(", "a{4294967296}", "(" * 5000 + ")" * 5000, 5]),
    ),
    (("filter", "payload_predicate"), st.sampled_from(["a[?", "!" * 5000 + "a", "[" * 5000, 5])),
    (
        ("filter", "since"),
        st.sampled_from(["yesterday", "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00"]),
    ),
    (("filter", "until"), st.sampled_from(["2026-02-30T00:00:00Z", ""])),
    (("target",), st.sampled_from([{}, {"queue_url": "elsewhere"}, {"function": "order-events-dev"}])),
    (("target",), st.just({"queue_url": queue_url("not-allowed")})),
]


@st.composite
def hostile_requests(draw: st.DrawFn) -> Any:
    shape = draw(st.sampled_from(["change", "not an object", "ledger"]))
    if shape == "not an object":
        return draw(not_objects)
    if shape == "ledger":
        return draw(
            st.sampled_from(
                [
                    {"source": {"type": "ledger"}},
                    {"source": {"type": "ledger", "failure_ids": ["async-" + "0" * 32], "filter": {}}},
                    {"source": {"type": "ledger", "failure_ids": ["not-an-id"]}},
                    {"source": {"type": "ledger", "filter": {"until": "0001-01-02T00:00:00Z"}}},
                    {"source": {"type": "ledger", "filter": {"since": "1900-01-01T00:00:00Z"}}},
                    {
                        "source": {
                            "type": "ledger",
                            "filter": {"function_name": "order-events-dev"},
                            "cursor": "garbage",
                        }
                    },
                    {
                        "source": {
                            "type": "ledger",
                            "filter": {"function_name": "order-events-dev"},
                            "cursor": "W10=",
                        }
                    },
                ]
            )
        ) | {"dry_run": False}
    path, values = draw(st.sampled_from(HOSTILE_CHANGES))
    return _mutated(REAL_RUN, path, draw(values))


@HOSTILE
@given(request=hostile_requests())
def test_a_hostile_redrive_request_is_rejected_naming_the_problem_and_touches_nothing(
    request: Any, redrive_aws: dict[str, Any], mocker: Any
) -> None:
    calls = mocker.spy(BaseClient, "_make_api_call")
    response = handler_module("RedriveFunction").lambda_handler(copy.deepcopy(request), FakeLambdaContext())
    operations = {call.args[1] for call in calls.call_args_list}
    mocker.stop(calls)
    RedriveReport.model_validate(response)
    assert response["status"] == "rejected", response
    assert response["problems"]
    assert all(isinstance(problem, str) and problem for problem in response["problems"])
    assert response["message"] == "Nothing was moved: fix the request and run it again."
    assert (response["moved"], response["would_move"], response["received"]) == (0, 0, 0)
    # Nothing but reads: no message received (made invisible), sent, deleted or moved, nothing invoked.
    assert operations <= READ_ONLY, operations
    sqs = redrive_aws["sqs"]
    assert queue_counts(sqs, ORDERS_DLQ) == (3, 0)
    assert queue_counts(sqs, ORDER_EVENTS_DLQ) == (2, 0)
    assert queue_counts(sqs, ORDERS_QUEUE) == (0, 0)


def test_the_real_run_the_hostile_requests_are_made_from_moves_the_messages(
    redrive_aws: dict[str, Any],
) -> None:
    """The other side of the test above: unchanged, its base request does move the DLQ."""
    response = handler_module("RedriveFunction").lambda_handler(
        load_event(f"redrive/{REAL_RUN}"), FakeLambdaContext()
    )
    assert (response["status"], response["moved"]) == ("complete", 3)
    assert queue_counts(redrive_aws["sqs"], ORDERS_QUEUE) == (3, 0)

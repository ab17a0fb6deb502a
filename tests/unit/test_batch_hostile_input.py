"""Hostile input to the batch processors and the record models, without AWS.

- A malformed envelope (not an object, no `Records` list, an empty one, a record that is not an
  object or has no identifier) is refused whole by `batch_records`, naming the problem; a
  well-formed one is returned as it is. Lambda never sends the first kind.
- A DynamoDB stream record whose image is not in DynamoDB's attribute-value format is reported
  like any other poison record. Before `OutboxChangeRecord`, Powertools' deserializer raised
  TypeError, IndexError or decimal errors out of the model, and its processor then reported the
  record as None and crashed the whole batch with AttributeError.
- An SQS FIFO message whose attributes are not an object, or whose group is not a string, is
  reported, not allowed to crash the batch in the group bookkeeping.
- An async event that is not a JSON object is poison, with a message saying what it is.
"""

import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from hypothesis import given
from hypothesis import strategies as st

from lambda_failure_toolkit.batch import (
    FifoBatchProcessor,
    MalformedBatchEventError,
    batch_records,
    stream_processor,
)
from lambda_failure_toolkit.retry import ErrorClass, PoisonRecordError, classify
from orders.models import OrderEvent
from orders.records import (
    OrderSqsRecord,
    OutboxChangeRecord,
    order_event_from_async,
    order_event_from_outbox_change,
)
from tests.events import load_event

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
IDENTIFIER_PATHS = {
    EventType.SQS: ("messageId",),
    EventType.KinesisDataStreams: ("kinesis", "sequenceNumber"),
    EventType.DynamoDBStreams: ("dynamodb", "SequenceNumber"),
}
SAMPLES = {
    EventType.SQS: "sqs/all_good.json",
    EventType.KinesisDataStreams: "kinesis/all_good.json",
    EventType.DynamoDBStreams: "dynamodb/all_good.json",
}


def _well_formed(event: Any, event_type: EventType) -> bool:
    """The envelope rule, stated independently of the code: a non-empty Records list of objects,
    each with a non-empty string at its identifier's path."""
    if not isinstance(event, dict) or not isinstance(event.get("Records"), list) or not event["Records"]:
        return False
    for record in event["Records"]:
        value = record
        for key in IDENTIFIER_PATHS[event_type]:
            value = value.get(key) if isinstance(value, dict) else None
        if not (isinstance(value, str) and value):
            return False
    return True


@pytest.mark.parametrize("event_type", list(IDENTIFIER_PATHS))
@given(event=json_values | st.fixed_dictionaries({"Records": json_values}))
def test_any_event_is_a_well_formed_batch_or_refused_naming_the_problem(
    event_type: EventType, event: Any
) -> None:
    if _well_formed(event, event_type):
        assert batch_records(event, event_type) is event["Records"]
        return
    with pytest.raises(MalformedBatchEventError) as refused:
        batch_records(event, event_type)
    assert refused.value.problem
    assert str(refused.value).startswith("not a ")
    assert "Nothing was processed" in str(refused.value)


@pytest.mark.parametrize("event_type", list(IDENTIFIER_PATHS))
@given(record=st.data())
def test_a_mutilated_record_among_good_ones_is_named_by_its_position(
    event_type: EventType, record: st.DataObject
) -> None:
    event = load_event(SAMPLES[event_type])
    index = record.draw(st.integers(0, len(event["Records"]) - 1))
    path = IDENTIFIER_PATHS[event_type]
    depth = record.draw(st.integers(0, len(path) - 1))
    parent = event["Records"][index]
    for key in path[:depth]:
        parent = parent[key]
    replacement = record.draw(
        st.sampled_from(["drop", None, "", 7, [], {}])
        if depth == len(path) - 1
        else st.sampled_from(["drop", None, "x", 3, []])
    )
    key = path[depth]
    if replacement == "drop":
        del parent[key]
    else:
        parent[key] = replacement
    with pytest.raises(MalformedBatchEventError) as refused:
        batch_records(event, event_type)
    where = ".".join((f"Records[{index}]", *path[: depth + 1]))
    assert refused.value.problem.startswith(where), refused.value.problem


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        (None, "the event is null, not an object"),
        ([], "the event is a list of 0 items, not an object"),
        ("Records", "the event is a string of 7 characters, not an object"),
        (42, "the event is a number, not an object"),
        ({}, "the event has no Records (its keys: none)"),
        ({"records": []}, "the event has no Records (its keys: records)"),
        ({"Records": None}, "Records is null, not a list"),
        ({"Records": {"0": {}}}, "Records is an object, not a list"),
        ({"Records": []}, "Records is empty"),
        ({"Records": ["m-1"]}, "Records[0] is a string of 3 characters, not an object"),
        ({"Records": [{"messageId": "m-1"}, 1]}, "Records[1] is a number, not an object"),
        ({"Records": [{"messageId": "m-1"}, {}]}, "Records[1].messageId is missing"),
        ({"Records": [{"messageId": ""}]}, "Records[0].messageId is an empty string, not a non-empty string"),
        ({"Records": [{"messageId": 12}]}, "Records[0].messageId is a number, not a non-empty string"),
    ],
)
def test_each_malformed_sqs_envelope_is_refused_with_its_problem(event: Any, problem: str) -> None:
    with pytest.raises(MalformedBatchEventError) as refused:
        batch_records(event, EventType.SQS)
    assert refused.value.problem == problem
    assert str(refused.value) == (
        f"not a SQS batch event: {problem}; expected "
        '{"Records": [...]}, each record an SQS message with messageId. Lambda never sends this: '
        "check the event given to `sam local invoke` or `Invoke`. Nothing was processed."
    )


def test_a_stream_record_without_its_block_names_the_path_to_the_identifier() -> None:
    with pytest.raises(MalformedBatchEventError, match=r"Records\[0\]\.kinesis is missing"):
        batch_records({"Records": [{"eventSource": "aws:kinesis"}]}, EventType.KinesisDataStreams)
    with pytest.raises(MalformedBatchEventError, match=r"Records\[0\]\.dynamodb is null, not an object"):
        batch_records({"Records": [{"dynamodb": None}]}, EventType.DynamoDBStreams)


# ---------------------------------------------------------------- DynamoDB images that are not items

GARBAGE_IMAGES: list[Any] = [
    [],
    "order",
    5,
    {"order_id": "ord-1"},  # a bare value, not {"S": ...}
    {"order_id": {"X": "ord-1"}},  # no such type
    {"order_id": {}},  # no type at all
    {"revision": {"N": "one"}},
    {"revision": {"N": "1e999999"}},  # past DynamoDB's number range
    {"revision": {"N": "1." + "1" * 60}},  # more precision than DynamoDB keeps
    {"items": {"L": 5}},
    {"items": {"L": [{"M": [1, 2]}]}},
    {"tags": {"NS": ["a"]}},
    {"tags": {"SS": 5}},
]
# Random typed attributes too: whatever the deserializer makes of them, the image is no order event.
garbage_images = st.sampled_from(GARBAGE_IMAGES) | st.dictionaries(
    st.text(max_size=8),
    st.dictionaries(st.sampled_from(["S", "N", "X", "L", "M", "NS", "BOOL"]), json_values, max_size=2),
    min_size=1,
    max_size=3,
)


def _dynamodb_batch(images: list[Any]) -> dict[str, Any]:
    """One good INSERT, then one record per image (None: another good INSERT)."""
    template = load_event("dynamodb/all_good.json")["Records"][0]
    records = []
    for index, image in enumerate([None, *images]):
        record = copy.deepcopy(template)
        record["dynamodb"]["SequenceNumber"] = str(1405400000000017330000000 + index)
        record["dynamodb"]["NewImage"]["order_id"] = {"S": f"ord-{index}"}
        if image is not None:
            record["dynamodb"]["NewImage"] = image
        records.append(record)
    return {"Records": records}


@pytest.mark.parametrize("fail_fast", [True, False])
@given(
    images=st.tuples(
        st.lists(st.none() | garbage_images, max_size=3),
        garbage_images,
        st.lists(st.none() | garbage_images, max_size=3),
    ).map(lambda parts: [*parts[0], parts[1], *parts[2]])
)
def test_a_dynamodb_image_that_is_no_item_is_reported_not_a_crash(fail_fast: bool, images: list[Any]) -> None:
    event = _dynamodb_batch(images)
    applied: list[str] = []

    def apply(record: OutboxChangeRecord) -> None:
        order = order_event_from_outbox_change(record)
        assert order is not None
        applied.append(order.order_id)

    processor = stream_processor(EventType.DynamoDBStreams, OutboxChangeRecord, fail_fast=fail_fast)
    response = process_partial_response(event=event, record_handler=apply, processor=processor)

    sequence = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
    bad = [index for index, image in enumerate([None, *images]) if image is not None]
    expected = list(range(bad[0], len(sequence))) if fail_fast else bad
    assert response == {"batchItemFailures": [{"itemIdentifier": sequence[i]} for i in expected]}
    ran = [i for i in range(len(sequence)) if i not in bad and (not fail_fast or i < bad[0])]
    assert applied == [f"ord-{i}" for i in ran]


def test_powertools_own_model_still_crashes_on_such_an_image() -> None:
    """Why OutboxChangeRecord exists: should Powertools fix its model, this test says it may go."""
    from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

    event = _dynamodb_batch([{"order_id": {"X": "ord-1"}}])
    processor = BatchProcessor(EventType.DynamoDBStreams, model=DynamoDBStreamRecordModel)
    with pytest.raises(AttributeError):
        process_partial_response(event=event, record_handler=lambda record: None, processor=processor)


# ---------------------------------------------------------------- SQS FIFO attributes SQS never sends


@pytest.mark.parametrize("skip_group_on_error", [False, True])
@pytest.mark.parametrize("attributes", ["garbage", None, 5, {"MessageGroupId": ["g"]}, {"MessageGroupId": 7}])
def test_a_fifo_message_with_garbage_attributes_is_reported_and_its_followers_follow_the_rules(
    skip_group_on_error: bool, attributes: Any
) -> None:
    template = load_event("sqs-fifo/all_good.json")["Records"][0]
    records = []
    for index, group in enumerate(["a", "b", "a", "b"]):
        record = copy.deepcopy(template)
        record["messageId"] = f"m-{index}"
        record["attributes"]["MessageGroupId"] = group
        record["body"] = json.dumps(
            {
                "order_id": f"ord-{index}",
                "revision": 1,
                "event_type": "OrderPlaced",
                "occurred_at": "2026-11-20T10:00:00Z",
            }
        )
        records.append(record)
    records[1]["attributes"] = attributes
    applied: list[str] = []

    def apply(record: OrderSqsRecord) -> None:
        assert isinstance(record.body, OrderEvent)
        applied.append(record.body.order_id)

    processor = FifoBatchProcessor(model=OrderSqsRecord, skip_group_on_error=skip_group_on_error)
    response = process_partial_response(event={"Records": records}, record_handler=apply, processor=processor)
    # The broken message has no readable group: skipping groups, nothing else is held back for it.
    failed = ["m-1"] if skip_group_on_error else ["m-1", "m-2", "m-3"]
    assert response == {"batchItemFailures": [{"itemIdentifier": i} for i in failed]}
    assert applied == (["ord-0", "ord-2", "ord-3"] if skip_group_on_error else ["ord-0"])


# ---------------------------------------------------------------- async events that are not objects


@given(event=json_values.filter(lambda value: not isinstance(value, dict)))
def test_an_async_event_that_is_not_an_object_is_poison_naming_its_type(event: Any) -> None:
    with pytest.raises(PoisonRecordError) as raised:
        order_event_from_async(event)
    assert str(raised.value).endswith(f"not {type(event).__name__}")
    assert classify(raised.value) is ErrorClass.POISON

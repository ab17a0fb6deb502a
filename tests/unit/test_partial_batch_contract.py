"""For any batch and any set of failing records, the response is exactly what AWS's semantics require.

Each record of a generated batch is good, fails in the handler (raises), or is poison (fails the
record model's validation before the handler runs). The expected response follows section 2a of
the AWS failure semantics:
- SQS standard, and streams when not fail-fast: exactly the failed records, in batch order;
- SQS FIFO: the first failed record and every record after it; or, skipping groups, every record
  of a group from that group's first failure on;
- Kinesis and DynamoDB Streams, fail-fast: the first failed record and every record after it.
Identifiers are messageId (SQS) and SequenceNumber (streams); a batch with no failure answers [].
A handler that records what it ran also proves fail-fast processors never run a record after a failure.
"""

import base64
import copy
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from hypothesis import given
from hypothesis import strategies as st

from lambda_failure_toolkit.batch import FailFastBatchProcessor, FifoBatchProcessor, stream_processor
from orders.models import OrderEvent
from orders.records import OrderKinesisRecord, OrderSqsRecord, order_event_from_outbox_change
from tests.events import load_event

GOOD, RAISES, POISON = "good", "raises", "poison"
batches = st.lists(st.sampled_from([GOOD, GOOD, RAISES, POISON]), min_size=1, max_size=25)


def _event(index: int, kind: str) -> dict[str, Any]:
    order_id = f"ord-raise-{index}" if kind == RAISES else f"ord-{index}"
    return {
        "order_id": order_id,
        "revision": 1,
        "event_type": "OrderPlaced",
        "occurred_at": "2026-11-20T10:00:00Z",
    }


class Handler:
    """Raises for the orders marked to raise; remembers which orders it ran."""

    def __init__(self) -> None:
        self.ran: list[str] = []

    def __call__(self, order: OrderEvent) -> str:
        self.ran.append(order.order_id)
        if order.order_id.startswith("ord-raise-"):
            raise RuntimeError("downstream refused")
        return "applied"


def _sqs_batch(kinds: list[str], groups: list[int] | None = None) -> dict[str, Any]:
    template = load_event("sqs-fifo/all_good.json")["Records"][0]
    records = []
    for index, kind in enumerate(kinds):
        record = copy.deepcopy(template)
        record["messageId"] = f"message-{index}"
        record["body"] = "not json" if kind == POISON else json.dumps(_event(index, kind))
        if groups is not None:
            record["attributes"]["MessageGroupId"] = f"group-{groups[index]}"
        records.append(record)
    return {"Records": records}


def _kinesis_batch(kinds: list[str]) -> dict[str, Any]:
    template = load_event("kinesis/all_good.json")["Records"][0]
    records = []
    for index, kind in enumerate(kinds):
        record = copy.deepcopy(template)
        record["kinesis"]["sequenceNumber"] = str(
            49656997393519438722486093257181468219394578345126854658 + index
        )
        data = b"not json" if kind == POISON else json.dumps(_event(index, kind)).encode()
        record["kinesis"]["data"] = base64.b64encode(data).decode()
        records.append(record)
    return {"Records": records}


def _dynamodb_batch(kinds: list[str]) -> dict[str, Any]:
    template = load_event("dynamodb/all_good.json")["Records"][0]
    records = []
    for index, kind in enumerate(kinds):
        record = copy.deepcopy(template)
        record["dynamodb"]["SequenceNumber"] = str(1405400000000017330000000 + index)
        record["dynamodb"]["NewImage"]["order_id"] = {"S": _event(index, kind)["order_id"]}
        if kind == POISON:
            record["eventName"] = "UPSERT"  # no such DynamoDB Streams event: the record model refuses it
        records.append(record)
    return {"Records": records}


def _reported(event: dict[str, Any], processor: BatchProcessor, handler: Any) -> list[str]:
    response = process_partial_response(event=event, record_handler=handler, processor=processor)
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def _failed(kinds: list[str]) -> list[int]:
    return [i for i, kind in enumerate(kinds) if kind != GOOD]


def _from_first_failure(kinds: list[str]) -> list[int]:
    failed = _failed(kinds)
    return list(range(failed[0], len(kinds))) if failed else []


def _ran_until_first_failure(kinds: list[str]) -> list[str]:
    """The orders a handler runs when processing stops at the first failure (poison never reaches it)."""
    failed = _failed(kinds)
    last = failed[0] if failed else len(kinds) - 1
    return [_event(i, kind)["order_id"] for i, kind in enumerate(kinds[: last + 1]) if kind != POISON]


def _ids(event: dict[str, Any], indices: list[int]) -> list[str]:
    records = event["Records"]
    return [
        r["messageId"]
        if "messageId" in r
        else r["kinesis"]["sequenceNumber"]
        if "kinesis" in r
        else r["dynamodb"]["SequenceNumber"]
        for r in (records[i] for i in indices)
    ]


@given(batches)
def test_sqs_standard_reports_exactly_the_failed_messages(kinds: list[str]) -> None:
    event, handler = _sqs_batch(kinds), Handler()
    processor = BatchProcessor(EventType.SQS, model=OrderSqsRecord, raise_on_entire_batch_failure=False)
    assert _reported(event, processor, lambda record: handler(record.body)) == _ids(event, _failed(kinds))


@given(batches)
def test_sqs_fifo_reports_the_first_failure_and_everything_after_it(kinds: list[str]) -> None:
    event, handler = _sqs_batch(kinds, groups=[i % 3 for i in range(len(kinds))]), Handler()
    assert _reported(
        event, FifoBatchProcessor(model=OrderSqsRecord), lambda record: handler(record.body)
    ) == _ids(event, _from_first_failure(kinds))
    assert handler.ran == _ran_until_first_failure(kinds)


@given(batches, st.data())
def test_sqs_fifo_skipping_groups_never_reports_a_later_message_of_a_failed_group_as_done(
    kinds: list[str], data: st.DataObject
) -> None:
    groups = data.draw(st.lists(st.integers(0, 3), min_size=len(kinds), max_size=len(kinds)))
    event, handler = _sqs_batch(kinds, groups=groups), Handler()
    processor = FifoBatchProcessor(model=OrderSqsRecord, skip_group_on_error=True)
    broken: set[int] = set()
    expected = []
    for index, kind in enumerate(kinds):
        if kind != GOOD or groups[index] in broken:
            broken.add(groups[index])
            expected.append(index)
    assert _reported(event, processor, lambda record: handler(record.body)) == _ids(event, expected)


@given(batches, st.booleans())
def test_kinesis_reports_the_right_sequence_numbers(kinds: list[str], fail_fast: bool) -> None:
    event, handler = _kinesis_batch(kinds), Handler()
    processor = stream_processor(EventType.KinesisDataStreams, OrderKinesisRecord, fail_fast=fail_fast)
    expected = _from_first_failure(kinds) if fail_fast else _failed(kinds)
    assert _reported(event, processor, lambda record: handler(record.kinesis.data)) == _ids(event, expected)
    if fail_fast:
        # Nothing after the first failure ran: no order event applied ahead of an earlier one.
        assert handler.ran == _ran_until_first_failure(kinds)


@given(batches, st.booleans())
def test_dynamodb_streams_reports_the_right_sequence_numbers(kinds: list[str], fail_fast: bool) -> None:
    event, handler = _dynamodb_batch(kinds), Handler()
    processor = stream_processor(EventType.DynamoDBStreams, DynamoDBStreamRecordModel, fail_fast=fail_fast)

    def apply(record: DynamoDBStreamRecordModel) -> str:
        order = order_event_from_outbox_change(record)
        assert order is not None
        return handler(order)

    expected = _from_first_failure(kinds) if fail_fast else _failed(kinds)
    assert _reported(event, processor, apply) == _ids(event, expected)


def test_fail_fast_is_for_streams_only() -> None:
    with pytest.raises(ValueError, match="fail-fast is for Kinesis and DynamoDB Streams"):
        FailFastBatchProcessor(EventType.SQS)

"""The failure consumer records a batch's records a few at once (ConcurrentBatchProcessor), against
moto: the writes are really in flight together, a write that fails reports its message alone, a
duplicate makes no second entry, and the batch still sends one alert."""

import json
import threading
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_failure_toolkit.failures import parse_failure
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from tests.failure_queue import async_record, sqs_message
from tests.handlers.test_failure_consumer import alerts, consume, ledger_aws, ledger_items

__all__ = ["ledger_aws"]  # the fixture, used here by name

BATCH = 10


def batch(tag: str, count: int = BATCH) -> list[dict[str, Any]]:
    """`count` async failure records, each of its own request (so its own failure id)."""
    return [
        sqs_message(json.dumps(async_record({"order_id": f"{tag}-{n}"}, request_id=f"{tag}-request-{n:04d}")))
        for n in range(count)
    ]


def failure_id(message: dict[str, Any]) -> str:
    return parse_failure(message).failure_id


def test_the_batchs_conditional_puts_are_in_flight_together(ledger_aws: dict[str, Any], mocker: Any) -> None:
    # Given a ledger whose put waits until all ten of the batch's puts are waiting at once
    # (one record after another, the first would wait alone until the barrier gives up)
    table = failure_ledger()._table
    real_put = table.put_item
    together = threading.Barrier(BATCH, timeout=3)

    def put_when_all_are_waiting(**kwargs: Any) -> Any:
        together.wait()
        return real_put(**kwargs)

    mocker.patch.object(table, "put_item", side_effect=put_when_all_are_waiting)
    messages = batch("together")
    # When the batch is consumed
    response = consume(messages)
    # Then every record is recorded, each by its own conditional put, and the barrier was never broken
    assert response == {"batchItemFailures": []}
    assert not together.broken
    assert sorted(item["failure_id"]["S"] for item in ledger_items(ledger_aws)) == sorted(
        failure_id(message) for message in messages
    )


def test_a_record_whose_write_fails_is_reported_alone_and_the_others_are_recorded(
    ledger_aws: dict[str, Any], mocker: Any
) -> None:
    # Given a ledger that refuses the put of two of the batch's ten failures (not a retryable error)
    messages = batch("refused")
    refused = {failure_id(messages[3]), failure_id(messages[7])}
    table = failure_ledger()._table
    real_put = table.put_item

    def refuse_some(**kwargs: Any) -> Any:
        if kwargs["Item"]["failure_id"] in refused:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "PutItem")
        return real_put(**kwargs)

    mocker.patch.object(table, "put_item", side_effect=refuse_some)
    # When the batch is consumed
    response = consume(messages)
    # Then exactly those two messages are given back, in the batch's order, and the eight others are kept
    assert response == {"batchItemFailures": [{"itemIdentifier": messages[i]["messageId"]} for i in (3, 7)]}
    kept = {item["failure_id"]["S"] for item in ledger_items(ledger_aws)}
    assert kept == {failure_id(message) for message in messages} - refused
    # And one alert for the batch, counting the eight
    [alert] = alerts(ledger_aws)
    assert "recorded 8 new failure(s)" in alert
    # When SQS delivers the two again and the ledger takes them
    mocker.stopall()
    again = [
        messages[i] | {"attributes": messages[i]["attributes"] | {"ApproximateReceiveCount": "2"}}
        for i in (3, 7)
    ]
    assert consume(again) == {"batchItemFailures": []}
    # Then the ledger holds the ten, each once
    assert len(ledger_items(ledger_aws)) == BATCH


def test_a_duplicate_in_a_batch_makes_no_second_entry_and_is_not_alerted(ledger_aws: dict[str, Any]) -> None:
    # Given four failures already in the ledger
    first = batch("dup", 4)
    consume(first)
    alerts(ledger_aws)
    before = ledger_items(ledger_aws)
    # When a batch of ten arrives that carries those four again (other messages, same failures) and six new
    redelivered = [message | {"messageId": f"{message['messageId'][:-4]}beef"} for message in first]
    new = batch("new", 6)
    response = consume(redelivered + new)
    # Then nothing is given back, the four are not written twice, and the six are added
    assert response == {"batchItemFailures": []}
    after = ledger_items(ledger_aws)
    assert len(after) == 10
    assert [item for item in after if item in before] == before
    # And the batch's one alert counts the six new ones only
    [alert] = alerts(ledger_aws)
    assert "recorded 6 new failure(s)" in alert
    for message in first:
        assert failure_id(message) not in alert


@pytest.mark.parametrize("batches", [3])
def test_one_alert_per_batch_however_many_records_it_recorded_at_once(
    ledger_aws: dict[str, Any], batches: int
) -> None:
    # Given three full batches of new failures
    # When each is consumed
    for n in range(batches):
        assert consume(batch(f"alert-{n}")) == {"batchItemFailures": []}
    # Then one alert per batch, each counting its ten
    sent = alerts(ledger_aws)
    assert len(sent) == batches
    assert all("recorded 10 new failure(s)" in alert for alert in sent)
    assert len(ledger_items(ledger_aws)) == batches * BATCH

"""The DynamoDB adapter against moto: conditional writes are what keep order events in order."""

from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from orders import ConcurrentOrderUpdateError, DynamoDBOrderStore, Order, OrderStatus

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def order(revision: int, status: OrderStatus = OrderStatus.PLACED) -> Order:
    return Order(order_id="ord-1", revision=revision, status=status, total_cents=4599, updated_at=AT)


def test_round_trip(aws: dict[str, Any]) -> None:
    store = DynamoDBOrderStore(boto3.resource("dynamodb").Table("orders-test"))
    assert store.get("ord-1") is None
    store.put(order(1), expected_revision=None)
    store.put(order(2, OrderStatus.PAID), expected_revision=1)
    assert store.get("ord-1") == order(2, OrderStatus.PAID)


@pytest.mark.parametrize(("stored", "expected"), [(None, 1), (1, None), (2, 1)])
def test_a_write_from_a_stale_read_is_refused(
    aws: dict[str, Any], stored: int | None, expected: int | None
) -> None:
    store = DynamoDBOrderStore(boto3.resource("dynamodb").Table("orders-test"))
    for revision in range(1, (stored or 0) + 1):
        store.put(order(revision), expected_revision=revision - 1 or None)
    with pytest.raises(ConcurrentOrderUpdateError):
        store.put(order(9), expected_revision=expected)


def test_other_errors_are_not_disguised(aws: dict[str, Any]) -> None:
    store = DynamoDBOrderStore(boto3.resource("dynamodb").Table("no-such-table"))
    with pytest.raises(ClientError, match="ResourceNotFoundException"):
        store.put(order(1), expected_revision=None)

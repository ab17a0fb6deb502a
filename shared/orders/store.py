"""Where orders live: a port, its DynamoDB adapter, and an in-memory fake for tests."""

from abc import ABC, abstractmethod
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from shared.orders.models import Order
from shared.retry import RetryPolicy, TransientError, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = ["ConcurrentOrderUpdateError", "DynamoDBOrderStore", "InMemoryOrderStore", "OrderStore"]


class ConcurrentOrderUpdateError(TransientError):
    """Another writer changed the order between our read and our conditional write."""


class OrderStore(ABC):
    @abstractmethod
    def get(self, order_id: str) -> Order | None:
        """The order, read consistently, or None."""

    @abstractmethod
    def put(self, order: Order, *, expected_revision: int | None) -> None:
        """Write `order` if the stored one is still at `expected_revision` (None: if there is none).

        Raises:
            ConcurrentOrderUpdateError: the stored order moved on.
        """


class InMemoryOrderStore(OrderStore):
    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}

    def get(self, order_id: str) -> Order | None:
        return self.orders.get(order_id)

    def put(self, order: Order, *, expected_revision: int | None) -> None:
        stored = self.orders.get(order.order_id)
        if (stored.revision if stored else None) != expected_revision:
            raise ConcurrentOrderUpdateError(
                f"order {order.order_id} is no longer at revision {expected_revision}"
            )
        self.orders[order.order_id] = order


class DynamoDBOrderStore(OrderStore):
    """Orders table keyed on `order_id`; every call retried on throttling within the invocation's deadline."""

    def __init__(self, table: "Table", *, retry: RetryPolicy | None = None) -> None:
        self._table = table
        self._retry = retry or RetryPolicy()

    def get(self, order_id: str) -> Order | None:
        response = self._retry.call(self._table.get_item, Key={"order_id": order_id}, ConsistentRead=True)
        item = response.get("Item")
        return None if item is None else Order.model_validate(_from_dynamodb(item))

    def put(self, order: Order, *, expected_revision: int | None) -> None:
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(order_id)"}
            if expected_revision is None
            else {
                "ConditionExpression": "revision = :expected",
                "ExpressionAttributeValues": {":expected": expected_revision},
            }
        )
        item = {k: v for k, v in order.model_dump(mode="json").items() if v is not None}
        try:
            self._retry.call(self._table.put_item, Item=item, **condition)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise ConcurrentOrderUpdateError(
                    f"order {order.order_id} is no longer at revision {expected_revision}"
                ) from exc
            raise


def _from_dynamodb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if isinstance(v, Decimal) else v for k, v in item.items()}

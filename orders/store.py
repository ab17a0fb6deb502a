"""Where orders live: a port and its DynamoDB adapter (the tests' in-memory fake is tests/fakes.py)."""

from abc import ABC, abstractmethod
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from lambda_failure_toolkit.retry import RetryPolicy, TransientError, error_code
from orders.models import Order

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table

__all__ = ["ConcurrentOrderUpdateError", "DynamoDBOrderStore", "OrderStore"]


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

"""Fakes of the sample's ports, for tests and benchmarks: never shipped in a layer."""

from orders.models import Order
from orders.store import ConcurrentOrderUpdateError, OrderStore

__all__ = ["InMemoryOrderStore"]


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

"""Applying one order event to its order: pure rules over a store port."""

from enum import StrEnum

from lambda_failure_toolkit.retry import PermanentError, TransientError
from orders.models import Order, OrderEvent, OrderEventType, OrderStatus
from orders.store import OrderStore

__all__ = ["ApplyOutcome", "OrderRuleViolationError", "OutOfOrderEventError", "apply_order_event"]


class OutOfOrderEventError(TransientError):
    """The event builds on a revision not applied yet: it will apply once that one has."""


class OrderRuleViolationError(PermanentError):
    """The order's state forbids the event: no retry will ever apply it."""


class ApplyOutcome(StrEnum):
    APPLIED = "applied"
    ALREADY_APPLIED = "already_applied"


_STATUS_AFTER = {
    OrderEventType.PLACED: OrderStatus.PLACED,
    OrderEventType.PAID: OrderStatus.PAID,
    OrderEventType.SHIPPED: OrderStatus.SHIPPED,
    OrderEventType.CANCELLED: OrderStatus.CANCELLED,
}
_ALLOWED_FROM: dict[OrderEventType, frozenset[OrderStatus]] = {
    OrderEventType.PAID: frozenset({OrderStatus.PLACED}),
    OrderEventType.SHIPPED: frozenset({OrderStatus.PAID}),
    OrderEventType.CANCELLED: frozenset({OrderStatus.PLACED, OrderStatus.PAID}),
}


def apply_order_event(event: OrderEvent, store: OrderStore) -> ApplyOutcome:
    """Apply `event` exactly once, in revision order.

    Raises:
        OutOfOrderEventError: the previous revision is not applied yet (transient).
        OrderRuleViolationError: the event can never apply (permanent).
        ConcurrentOrderUpdateError: another writer moved the order meanwhile (transient).
    """
    current = store.get(event.order_id)
    current_revision = current.revision if current else 0
    if event.revision <= current_revision:
        return ApplyOutcome.ALREADY_APPLIED
    if event.revision > current_revision + 1:
        raise OutOfOrderEventError(
            f"order {event.order_id}: revision {event.revision} arrived before revision {current_revision + 1}"
        )
    store.put(_next_state(event, current), expected_revision=current_revision or None)
    return ApplyOutcome.APPLIED


def _next_state(event: OrderEvent, current: Order | None) -> Order:
    if event.event_type is OrderEventType.PLACED:
        if current is not None:
            raise OrderRuleViolationError(f"order {event.order_id}: OrderPlaced at revision {event.revision}")
        return Order(
            order_id=event.order_id,
            revision=event.revision,
            status=OrderStatus.PLACED,
            customer_id=event.customer_id,
            total_cents=event.total_cents,
            currency=event.currency,
            updated_at=event.occurred_at,
        )
    if current is None or current.status not in _ALLOWED_FROM[event.event_type]:
        state = current.status if current else "no order"
        raise OrderRuleViolationError(
            f"order {event.order_id}: {event.event_type} is not allowed after {state}"
        )
    return current.model_copy(
        update={
            "revision": event.revision,
            "status": _STATUS_AFTER[event.event_type],
            "updated_at": event.occurred_at,
        }
    )

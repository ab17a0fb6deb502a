from datetime import UTC, datetime
from typing import Any

import pytest

from lambda_failure_toolkit.retry import ErrorClass, classify
from orders import (
    ApplyOutcome,
    ConcurrentOrderUpdateError,
    Order,
    OrderEvent,
    OrderRuleViolationError,
    OrderStatus,
    OutOfOrderEventError,
    apply_order_event,
)
from tests.fakes import InMemoryOrderStore

AT = datetime(2026, 11, 20, 10, tzinfo=UTC)


def event(revision: int, event_type: str, order_id: str = "ord-1", **extra: Any) -> OrderEvent:
    return OrderEvent.model_validate(
        {"order_id": order_id, "revision": revision, "event_type": event_type, "occurred_at": AT} | extra
    )


def test_events_apply_in_revision_order() -> None:
    store = InMemoryOrderStore()
    assert (
        apply_order_event(event(1, "OrderPlaced", total_cents=4599, currency="EUR"), store)
        is ApplyOutcome.APPLIED
    )
    assert apply_order_event(event(2, "OrderPaid"), store) is ApplyOutcome.APPLIED
    assert apply_order_event(event(3, "OrderShipped"), store) is ApplyOutcome.APPLIED
    order = store.get("ord-1")
    assert order is not None
    assert (order.revision, order.status, order.total_cents) == (3, OrderStatus.SHIPPED, 4599)


def test_a_revision_seen_before_is_already_applied_and_changes_nothing() -> None:
    store = InMemoryOrderStore()
    apply_order_event(event(1, "OrderPlaced"), store)
    apply_order_event(event(2, "OrderPaid"), store)
    before = store.get("ord-1")
    assert apply_order_event(event(1, "OrderPlaced"), store) is ApplyOutcome.ALREADY_APPLIED
    assert apply_order_event(event(2, "OrderCancelled"), store) is ApplyOutcome.ALREADY_APPLIED
    assert store.get("ord-1") == before


def test_an_early_revision_is_transient() -> None:
    store = InMemoryOrderStore()
    with pytest.raises(OutOfOrderEventError, match="revision 3 arrived before revision 1") as raised:
        apply_order_event(event(3, "OrderShipped"), store)
    assert classify(raised.value) is ErrorClass.TRANSIENT
    assert store.orders == {}


@pytest.mark.parametrize(
    ("history", "violating"),
    [
        ([], event(1, "OrderShipped")),
        ([event(1, "OrderPlaced")], event(2, "OrderPlaced")),
        ([event(1, "OrderPlaced")], event(2, "OrderShipped")),
        ([event(1, "OrderPlaced"), event(2, "OrderCancelled")], event(3, "OrderPaid")),
        (
            [event(1, "OrderPlaced"), event(2, "OrderPaid"), event(3, "OrderShipped")],
            event(4, "OrderCancelled"),
        ),
    ],
)
def test_events_the_order_forbids_are_permanent(history: list[OrderEvent], violating: OrderEvent) -> None:
    store = InMemoryOrderStore()
    for past in history:
        apply_order_event(past, store)
    with pytest.raises(OrderRuleViolationError) as raised:
        apply_order_event(violating, store)
    assert classify(raised.value) is ErrorClass.PERMANENT


def test_a_concurrent_writer_is_detected() -> None:
    class RacingStore(InMemoryOrderStore):
        """Another writer lands revision 1 between our read and our write."""

        def put(self, order: Order, *, expected_revision: int | None) -> None:
            if not self.orders:
                self.orders["ord-1"] = order.model_copy(update={"customer_id": "other-writer"})
            super().put(order, expected_revision=expected_revision)

    with pytest.raises(ConcurrentOrderUpdateError) as raised:
        apply_order_event(event(1, "OrderPlaced"), RacingStore())
    assert classify(raised.value) is ErrorClass.TRANSIENT


def test_business_key_is_order_and_revision() -> None:
    assert event(7, "OrderPaid", order_id="ord-9").business_key == "ord-9#7"


@pytest.mark.parametrize(
    "bad",
    [
        {"revision": 0},
        {"order_id": "has spaces"},
        {"event_type": "OrderLost"},
        {"occurred_at": "2026-11-20T10:00:00"},
        {"currency": "euro"},
        {"items": [{"sku": "", "quantity": 1}]},
    ],
)
def test_invalid_order_events_are_refused(bad: dict[str, Any]) -> None:
    valid = {
        "order_id": "ord-1",
        "revision": 1,
        "event_type": "OrderPlaced",
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    with pytest.raises(ValueError, match="validation error"):
        OrderEvent.model_validate(valid | bad)

"""The sample domain every function of the application runs: order events projected into an orders table.

Events of one order carry increasing revisions (1 = OrderPlaced) and must be applied in order.
That makes the three kinds of failure real rather than simulated:
- poison: a record that is not a valid order event (bad JSON, missing fields);
- transient: an event that arrives before the revision it builds on (`OutOfOrderEventError`), a
  concurrent update, or AWS throttling: worth retrying later;
- permanent: an event the order's state forbids (`OrderRuleViolationError`, e.g. shipping a cancelled
  order): retrying will never help.
"""

from orders.logic import ApplyOutcome, OrderRuleViolationError, OutOfOrderEventError, apply_order_event
from orders.models import Order, OrderEvent, OrderEventType, OrderItem, OrderStatus
from orders.store import ConcurrentOrderUpdateError, DynamoDBOrderStore, OrderStore

__all__ = [
    "ApplyOutcome",
    "ConcurrentOrderUpdateError",
    "DynamoDBOrderStore",
    "Order",
    "OrderEvent",
    "OrderEventType",
    "OrderItem",
    "OrderRuleViolationError",
    "OrderStatus",
    "OrderStore",
    "OutOfOrderEventError",
    "apply_order_event",
]

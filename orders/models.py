"""Order events as producers publish them, and the order they build."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

__all__ = ["Order", "OrderEvent", "OrderEventType", "OrderItem", "OrderStatus"]

OrderId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,64}$")]


class OrderEventType(StrEnum):
    PLACED = "OrderPlaced"
    PAID = "OrderPaid"
    SHIPPED = "OrderShipped"
    CANCELLED = "OrderCancelled"


class OrderStatus(StrEnum):
    PLACED = "PLACED"
    PAID = "PAID"
    SHIPPED = "SHIPPED"
    CANCELLED = "CANCELLED"


class OrderItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=10_000)


class OrderEvent(BaseModel):
    """One business event of one order. Extra keys are ignored: producers may add fields."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: OrderId
    revision: int = Field(ge=1, description="The order revision this event produces: 1 for OrderPlaced")
    event_type: OrderEventType
    occurred_at: AwareDatetime
    customer_id: str | None = Field(default=None, max_length=64)
    total_cents: int | None = Field(default=None, ge=0)
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    items: tuple[OrderItem, ...] = ()

    @property
    def business_key(self) -> str:
        """What makes this event unique to the business: the idempotency key, never a message id."""
        return f"{self.order_id}#{self.revision}"


class Order(BaseModel):
    """The projection: an order's state after its events up to `revision`."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: OrderId
    revision: int = Field(ge=1)
    status: OrderStatus
    customer_id: str | None = None
    total_cents: int | None = None
    currency: str | None = None
    updated_at: datetime

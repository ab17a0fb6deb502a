"""Batch record models carrying an order event, one per event source (Powertools parser models)."""

from typing import Any

from aws_lambda_powertools.utilities.parser.models import (
    DynamoDBStreamRecordModel,
    EventBridgeModel,
    KinesisDataStreamRecord,
    KinesisDataStreamRecordPayload,
    SnsModel,
    SqsRecordModel,
)
from aws_lambda_powertools.utilities.parser.models.dynamodb import DynamoDBStreamChangedRecordModel
from pydantic import Json, ValidationError, field_validator

from lambda_failure_toolkit.retry import PoisonRecordError
from orders.models import OrderEvent

__all__ = [
    "OrderKinesisRecord",
    "OrderSqsRecord",
    "OutboxChangeRecord",
    "order_event_from_async",
    "order_event_from_outbox_change",
]


class OrderSqsRecord(SqsRecordModel):
    """An SQS record (standard or FIFO) whose body is an order event as JSON."""

    body: Json[OrderEvent]


class OrderKinesisPayload(KinesisDataStreamRecordPayload):
    # Powertools base64-decodes `data` before this field's own validation.
    data: Json[OrderEvent]


class OrderKinesisRecord(KinesisDataStreamRecord):
    """A Kinesis record whose data is an order event as JSON."""

    kinesis: OrderKinesisPayload


class _OutboxChange(DynamoDBStreamChangedRecordModel):
    # Powertools' validator of the same name (replaced here) lets its deserializer's own errors out
    # (TypeError, IndexError, decimal.InvalidOperation, ...): they are not validation errors, so
    # Powertools' batch processor reports the record as `None` and crashes the whole batch.
    @field_validator("Keys", "NewImage", "OldImage", mode="before")
    @classmethod
    def deserialize_field(cls, value: Any) -> Any:
        try:
            return super().deserialize_field(value)  # type: ignore[no-untyped-call]  # Powertools' own
        except (AttributeError, LookupError, TypeError, ArithmeticError, RecursionError) as exc:
            raise ValueError(
                f"not an item in DynamoDB's attribute-value format ({type(exc).__name__})"
            ) from exc


class OutboxChangeRecord(DynamoDBStreamRecordModel):
    """A DynamoDB stream record of the outbox table; an image that is not a DynamoDB item fails
    validation (the record is reported) instead of raising from Powertools' deserializer."""

    dynamodb: _OutboxChange


def order_event_from_outbox_change(record: DynamoDBStreamRecordModel) -> OrderEvent | None:
    """The order event an outbox INSERT carries; None for MODIFY and REMOVE (nothing to apply).

    Raises:
        PoisonRecordError: the inserted item is not an order event.
    """
    if record.eventName != "INSERT":
        return None
    try:
        return OrderEvent.model_validate(record.dynamodb.NewImage)
    except ValidationError as exc:
        raise PoisonRecordError(f"outbox item is not an order event: {exc.error_count()} problem(s)") from exc


def order_event_from_async(event: object) -> OrderEvent:
    """The order event of an async invocation: an EventBridge event's detail, an SNS record's
    message, or (a direct `Invoke`) the event itself.

    Raises:
        pydantic.ValidationError: the event is not an order event (poison).
        PoisonRecordError: an event that is not a JSON object, or an SNS event that does not hold
            exactly one record.
    """
    if not isinstance(event, dict):
        raise PoisonRecordError(
            f"an async event is a JSON object (an EventBridge event, an SNS event or an order event), "
            f"not {type(event).__name__}"
        )
    if "detail-type" in event:
        return OrderEvent.model_validate(EventBridgeModel.model_validate(event).detail)
    if "Records" in event:
        records = SnsModel.model_validate(event).Records
        if len(records) != 1:
            raise PoisonRecordError(f"an SNS event holds one record, this one {len(records)}")
        return OrderEvent.model_validate_json(str(records[0].Sns.Message))
    return OrderEvent.model_validate(event)

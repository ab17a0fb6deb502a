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
from pydantic import Json, ValidationError

from shared.orders.models import OrderEvent
from shared.retry import PoisonRecordError

__all__ = ["OrderKinesisRecord", "OrderSqsRecord", "order_event_from_async", "order_event_from_outbox_change"]


class OrderSqsRecord(SqsRecordModel):
    """An SQS record (standard or FIFO) whose body is an order event as JSON."""

    body: Json[OrderEvent]


class OrderKinesisPayload(KinesisDataStreamRecordPayload):
    # Powertools base64-decodes `data` before this field's own validation.
    data: Json[OrderEvent]


class OrderKinesisRecord(KinesisDataStreamRecord):
    """A Kinesis record whose data is an order event as JSON."""

    kinesis: OrderKinesisPayload


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


def order_event_from_async(event: dict[str, Any]) -> OrderEvent:
    """The order event of an async invocation: an EventBridge event's detail, an SNS record's
    message, or (a direct `Invoke`) the event itself.

    Raises:
        pydantic.ValidationError: the event is not an order event (poison).
        PoisonRecordError: an SNS event that does not hold exactly one record.
    """
    if "detail-type" in event:
        return OrderEvent.model_validate(EventBridgeModel.model_validate(event).detail)
    if "Records" in event:
        records = SnsModel.model_validate(event).Records
        if len(records) != 1:
            raise PoisonRecordError(f"an SNS event holds one record, this one {len(records)}")
        return OrderEvent.model_validate_json(str(records[0].Sns.Message))
    return OrderEvent.model_validate(event)

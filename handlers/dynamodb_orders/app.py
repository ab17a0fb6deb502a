"""DynamoDB Streams of the order outbox table -> orders table.

Producers write each order event to the outbox table; its stream (NEW_AND_OLD_IMAGES) brings the
INSERTs here. Fail-fast by default, as for Kinesis.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failure_toolkit.batch import StreamConfig, process_batch, stream_processor
from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.observability import logger, metrics, record_failure_logger, tracer
from lambda_failure_toolkit.retry import with_invocation_deadline
from orders.records import OutboxChangeRecord, order_event_from_outbox_change
from orders.service import OrderEventProcessor
from orders.wiring import order_event_processor


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@with_invocation_deadline
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, orders: OrderEventProcessor | None = None
) -> dict[str, Any]:
    orders = orders or order_event_processor(context)

    def apply_change(record: OutboxChangeRecord) -> str:
        order_event = order_event_from_outbox_change(record)
        return "ignored" if order_event is None else orders.process(order_event)

    processor = stream_processor(
        EventType.DynamoDBStreams,
        OutboxChangeRecord,
        fail_fast=get_config(StreamConfig).STREAM_FAIL_FAST,
        logger=record_failure_logger,
    )
    return process_batch(event, context, processor, apply_change, metrics)

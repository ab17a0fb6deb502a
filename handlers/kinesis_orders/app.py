"""Kinesis stream of order events -> orders table.

Fail-fast by default (STREAM_FAIL_FAST=true): the batch stops at the first failure and reports it
and everything after it, so no order event is applied before an earlier one of the shard.
"""

from typing import Any

from aws_lambda_powertools.utilities.batch import EventType
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failure_toolkit.batch import StreamConfig, process_batch, stream_processor
from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.observability import logger, metrics, record_failure_logger, tracer
from lambda_failure_toolkit.retry import with_invocation_deadline
from orders.records import OrderKinesisRecord
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
    processor = stream_processor(
        EventType.KinesisDataStreams,
        OrderKinesisRecord,
        fail_fast=get_config(StreamConfig).STREAM_FAIL_FAST,
        logger=record_failure_logger,
    )
    return process_batch(
        event, context, processor, lambda record: orders.process(record.kinesis.data), metrics
    )

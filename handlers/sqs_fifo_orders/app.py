"""SQS FIFO queue of order events -> orders table, keeping each message group's order.

By default the batch stops at the first failure and reports it and every message after it; with
FIFO_SKIP_GROUP_ON_ERROR=true only the later messages of the failed groups are reported.
"""

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failure_toolkit.batch import FifoConfig, fifo_processor, process_batch
from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.observability import logger, metrics, record_failure_logger, tracer
from lambda_failure_toolkit.retry import with_invocation_deadline
from orders.records import OrderSqsRecord
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
    processor = fifo_processor(
        OrderSqsRecord,
        skip_group_on_error=get_config(FifoConfig).FIFO_SKIP_GROUP_ON_ERROR,
        logger=record_failure_logger,
    )
    return process_batch(event, context, processor, lambda record: orders.process(record.body), metrics)

"""SQS standard queue of order events -> orders table; failed messages reported for redelivery."""

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failure_toolkit.batch import process_batch
from lambda_failure_toolkit.observability import logger, metrics, record_failure_logger, tracer
from lambda_failure_toolkit.retry import with_invocation_deadline
from orders.records import OrderSqsRecord
from orders.service import OrderEventProcessor
from orders.wiring import order_event_processor

# Never raises for failed records, even all of them: the response lists exactly the failed messageIds.
processor = BatchProcessor(
    EventType.SQS, model=OrderSqsRecord, raise_on_entire_batch_failure=False, logger=record_failure_logger
)


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@with_invocation_deadline
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, orders: OrderEventProcessor | None = None
) -> dict[str, Any]:
    orders = orders or order_event_processor(context)
    return process_batch(event, context, processor, lambda record: orders.process(record.body), metrics)

"""Order events delivered asynchronously (EventBridge rule, SNS topic, or `Invoke` with
InvocationType=Event) -> orders table.

- Transient failure (throttling, a concurrent update, a revision arriving before the one it builds
  on): raise. Lambda retries the event (MaximumRetryAttempts, about 1 and 2 minutes later), then
  sends it to the OnFailure destination and the DLQ.
- Permanent failure (a poison event, an event the order's state forbids, an unknown error): Lambda's
  retries cannot help. The function sends the failure record itself, in the destination's record
  shape with condition PermanentFailure, to the same failure queue, and returns. Should that send
  fail, it raises instead, and Lambda's own path takes over: the event is never lost.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from shared.failures.report import FailureQueueReporter, failure_queue_reporter, handled_failure_record
from shared.observability import logger, metrics, tracer
from shared.orders.records import order_event_from_async
from shared.orders.service import OrderEventProcessor
from shared.orders.wiring import order_event_processor
from shared.retry import ErrorClass, classify, with_invocation_deadline


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@with_invocation_deadline
def lambda_handler(
    event: dict[str, Any],
    context: LambdaContext,
    orders: OrderEventProcessor | None = None,
    failures: FailureQueueReporter | None = None,
) -> dict[str, Any]:
    orders = orders or order_event_processor(context)
    try:
        order_event = order_event_from_async(event)
        outcome = orders.process(order_event)
    except Exception as error:
        if classify(error) is ErrorClass.TRANSIENT:
            metrics.add_metric(name="TransientFailures", unit=MetricUnit.Count, value=1)
            raise
        message_id = (failures or failure_queue_reporter()).report(
            handled_failure_record(event, error, context)
        )
        logger.warning(
            "permanent failure recorded in the failure queue",
            extra={"error_type": type(error).__name__, "error": str(error), "failure_message_id": message_id},
        )
        metrics.add_metric(name="PermanentFailures", unit=MetricUnit.Count, value=1)
        return {"status": "rejected", "errorType": type(error).__name__, "failureMessageId": message_id}
    metrics.add_metric(name="OrderEventsApplied", unit=MetricUnit.Count, value=1)
    return {"status": outcome, "orderId": order_event.order_id, "revision": order_event.revision}

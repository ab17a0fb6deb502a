"""Order events delivered asynchronously (EventBridge rule, SNS topic, or `Invoke` with
InvocationType=Event) -> orders table.

The toolkit's async failure pattern (`record_permanent_failures`) decides what a failure becomes:
- transient (throttling, a concurrent update, a revision arriving before the one it builds on):
  raised. Lambda retries the event (MaximumRetryAttempts, about 1 and 2 minutes later), then sends
  it to the OnFailure destination (the toolkit's failure queue) and the DLQ;
- permanent (a poison event, an event the order's state forbids, an unknown error): Lambda's
  retries cannot help, so the function sends the failure record itself, in the destination's
  shape with condition PermanentFailure, to the failure queue, and returns. Should that send fail,
  the error is raised instead, and Lambda's own path takes over: the event is never lost.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from lambda_failure_toolkit.failures.report import record_permanent_failures
from lambda_failure_toolkit.observability import logger, metrics, tracer
from lambda_failure_toolkit.retry import with_invocation_deadline
from orders.records import order_event_from_async
from orders.service import OrderEventProcessor
from orders.wiring import order_event_processor


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@with_invocation_deadline
@record_permanent_failures(metrics=metrics)
def lambda_handler(
    event: dict[str, Any], context: LambdaContext, orders: OrderEventProcessor | None = None
) -> dict[str, Any]:
    orders = orders or order_event_processor(context)
    order_event = order_event_from_async(event)
    outcome = orders.process(order_event)
    metrics.add_metric(name="OrderEventsApplied", unit=MetricUnit.Count, value=1)
    return {"status": outcome, "orderId": order_event.order_id, "revision": order_event.revision}

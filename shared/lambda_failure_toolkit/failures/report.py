"""The async failure pattern, reusable: a transient error is raised for Lambda to retry; a permanent
one is recorded by the function itself, in the record shape Lambda's destinations use, and the
invocation returns.

An async invocation that fails permanently (a poison event, a business rule that forbids it) gains
nothing from Lambda's retries: they only delay the failure by minutes. `record_permanent_failures`
sends the record Lambda would have sent, with condition `PermanentFailure`, to the failure queue
(the toolkit's, FAILURE_QUEUE_URL), and the handler returns `{"status": "rejected", ...}`. If that
send fails, the original error is raised, and Lambda's own retries, OnFailure destination and DLQ
take over: the event is never lost.

    @logger.inject_lambda_context
    @metrics.log_metrics
    @with_invocation_deadline
    @record_permanent_failures(metrics=metrics)
    def lambda_handler(event, context): ...
"""

import functools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, overload

from aws_lambda_powertools.metrics import MetricUnit
from pydantic import Field, JsonValue

from lambda_failure_toolkit.config import EnvConfig, get_config
from lambda_failure_toolkit.observability import logger
from lambda_failure_toolkit.retry import ErrorClass, RetryPolicy, classify

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "PERMANENT_FAILURE",
    "FailureQueueConfig",
    "FailureQueueReporter",
    "FailureReporter",
    "failure_queue_reporter",
    "handled_failure_record",
    "record_permanent_failures",
]

PERMANENT_FAILURE = "PermanentFailure"
_MESSAGE_LIMIT = 4096

Handler = Callable[..., Any]


def handled_failure_record(
    event: JsonValue, error: BaseException, context: "LambdaContext"
) -> dict[str, Any]:
    """The async invocation record for `event`, failed with `error` and handled by the function."""
    function_arn = context.invoked_function_arn
    if function_arn.count(":") == 6:  # invoked unqualified: AWS's records name $LATEST
        function_arn = f"{function_arn}:$LATEST"
    return {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": context.aws_request_id,
            "functionArn": function_arn,
            "condition": PERMANENT_FAILURE,
            # Lambda does not tell a function which attempt it is: this one, at least.
            "approximateInvokeCount": 1,
        },
        "requestPayload": event,
        "responseContext": {
            "statusCode": 200,
            "executedVersion": context.function_version,
            "functionError": "Handled",
        },
        "responsePayload": {"errorType": type(error).__name__, "errorMessage": str(error)[:_MESSAGE_LIMIT]},
    }


class FailureReporter(Protocol):
    def report(self, record: dict[str, Any]) -> str:
        """Keep `record`; returns where it went (a message id). Raises when it was not kept."""
        ...


class FailureQueueReporter:
    def __init__(self, sqs: "SQSClient", queue_url: str, *, retry: RetryPolicy | None = None) -> None:
        self._sqs = sqs
        self._queue_url = queue_url
        self._retry = retry or RetryPolicy()

    def report(self, record: dict[str, Any]) -> str:
        """Send the record; returns the message id. Raises when SQS did not take it."""
        response = self._retry.call(
            self._sqs.send_message, QueueUrl=self._queue_url, MessageBody=json.dumps(record)
        )
        return response["MessageId"]


class FailureQueueConfig(EnvConfig):
    FAILURE_QUEUE_URL: str = Field(min_length=1)
    """The toolkit's failure queue (its stack output FailureQueueUrl)."""


@functools.cache
def failure_queue_reporter() -> FailureReporter:
    """The execution environment's reporter, for the queue in FAILURE_QUEUE_URL."""
    # Imported here: only a function that reports needs boto3 (the Lambda runtime has it).
    from lambda_failure_toolkit.clients import client  # noqa: PLC0415

    return FailureQueueReporter(client("sqs"), get_config(FailureQueueConfig).FAILURE_QUEUE_URL)


@overload
def record_permanent_failures(handler: Handler, /) -> Handler: ...
@overload
def record_permanent_failures(
    *,
    reporter: Callable[[], FailureReporter] = ...,
    metrics: "Metrics | None" = None,
    classifier: Callable[[BaseException], ErrorClass] = ...,
) -> Callable[[Handler], Handler]: ...
def record_permanent_failures(
    handler: Handler | None = None,
    /,
    *,
    reporter: Callable[[], FailureReporter] = failure_queue_reporter,
    metrics: "Metrics | None" = None,
    classifier: Callable[[BaseException], ErrorClass] = classify,
) -> Handler | Callable[[Handler], Handler]:
    """Decorate an async handler `(event, context, ...)`: what it raises is classified.

    - transient (`classifier`, by default `classify`): raised again, so Lambda retries the event;
    - permanent or poison: recorded with `reporter()` (by default the failure queue named by
      FAILURE_QUEUE_URL), and `{"status": "rejected", "errorType", "errorMessage", "failureMessageId"}`
      is returned. Should the record not be kept, the original error is raised instead.

    `metrics` counts TransientFailures, PermanentFailures and FailureRecordsNotSent. A caller (a test)
    may pass `failure_reporter=` to the decorated handler to replace `reporter()` for that call.
    """
    if handler is None:
        return functools.partial(_decorate, reporter=reporter, metrics=metrics, classifier=classifier)
    return _decorate(handler, reporter=reporter, metrics=metrics, classifier=classifier)


def _decorate(
    handler: Handler,
    *,
    reporter: Callable[[], FailureReporter],
    metrics: "Metrics | None",
    classifier: Callable[[BaseException], ErrorClass],
) -> Handler:
    def count(name: str) -> None:
        if metrics is not None:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    @functools.wraps(handler)
    def wrapper(
        event: Any,
        context: "LambdaContext",
        *args: Any,
        failure_reporter: FailureReporter | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            return handler(event, context, *args, **kwargs)
        except Exception as error:
            if classifier(error) is ErrorClass.TRANSIENT:
                count("TransientFailures")
                raise
            try:
                message_id = (failure_reporter or reporter()).report(
                    handled_failure_record(event, error, context)
                )
            except Exception as not_sent:
                count("FailureRecordsNotSent")
                logger.exception(
                    "a permanent failure could not be recorded: raising it, for Lambda's retries, "
                    "OnFailure destination and DLQ",
                    extra={"error_type": type(error).__name__, "not_sent_because": repr(not_sent)},
                )
                raise error from not_sent
            count("PermanentFailures")
            logger.warning(
                "permanent failure recorded in the failure queue",
                extra={
                    "error_type": type(error).__name__,
                    "error": str(error),
                    "failure_message_id": message_id,
                },
            )
            return {
                "status": "rejected",
                "errorType": type(error).__name__,
                "errorMessage": str(error)[:_MESSAGE_LIMIT],
                "failureMessageId": message_id,
            }

    return wrapper

"""Recording a permanent async failure ourselves, in the record shape Lambda's destinations use.

An async invocation that fails permanently (a poison event, a business rule that forbids it) gains
nothing from Lambda's retries: they only delay the failure by minutes. Instead the function sends
the record Lambda would have sent, with condition `PermanentFailure`, to the same failure queue,
and returns. If that send fails, the function raises, and Lambda's own retries and OnFailure
destination take over: the event is never lost.
"""

import functools
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3
from pydantic import Field, JsonValue

from shared.config import EnvConfig, get_config
from shared.retry import RetryPolicy

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_sqs import SQSClient

__all__ = [
    "PERMANENT_FAILURE",
    "FailureQueueConfig",
    "FailureQueueReporter",
    "failure_queue_reporter",
    "handled_failure_record",
]

PERMANENT_FAILURE = "PermanentFailure"


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
        "responsePayload": {"errorType": type(error).__name__, "errorMessage": str(error)[:4096]},
    }


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


@functools.cache
def failure_queue_reporter() -> FailureQueueReporter:
    """The execution environment's reporter, for the queue in FAILURE_QUEUE_URL."""
    return FailureQueueReporter(boto3.client("sqs"), get_config(FailureQueueConfig).FAILURE_QUEUE_URL)

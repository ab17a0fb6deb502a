"""Typed failure records: every record AWS writes when a Lambda invocation fails, and one parser.

from lambda_failure_toolkit.failures import parse_failure, UnrecognizedFailureError

record = parse_failure(sqs_record)  # FailureRecord, or UnrecognizedFailureError and nothing else
"""

from lambda_failure_toolkit.failures.exceptions import UnrecognizedFailureError, UnrecognizedReason
from lambda_failure_toolkit.failures.models import (
    ASYNC_CONDITIONS,
    EXHAUSTED_RETRY_CONDITIONS,
    STREAM_CONDITIONS,
    AsyncInvocationRecord,
    DDBStreamBatchInfo,
    EventBridgeDlqAttributes,
    KafkaBatchInfo,
    KinesisBatchInfo,
    LambdaDlqAttributes,
    StreamOnFailureRecord,
)
from lambda_failure_toolkit.failures.parser import parse_failure
from lambda_failure_toolkit.failures.record import (
    Delivery,
    ErrorInfo,
    FailureKind,
    FailureRecord,
    FirstHop,
    StreamPointer,
    StreamRange,
)

__all__ = [
    "ASYNC_CONDITIONS",
    "EXHAUSTED_RETRY_CONDITIONS",
    "STREAM_CONDITIONS",
    "AsyncInvocationRecord",
    "DDBStreamBatchInfo",
    "Delivery",
    "ErrorInfo",
    "EventBridgeDlqAttributes",
    "FailureKind",
    "FailureRecord",
    "FirstHop",
    "KafkaBatchInfo",
    "KinesisBatchInfo",
    "LambdaDlqAttributes",
    "StreamOnFailureRecord",
    "StreamPointer",
    "StreamRange",
    "UnrecognizedFailureError",
    "UnrecognizedReason",
    "parse_failure",
]

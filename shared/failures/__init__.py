"""Typed failure records: every record AWS writes when a Lambda invocation fails, and one parser.

from shared.failures import parse_failure, UnrecognizedFailureError

record = parse_failure(sqs_record)  # FailureRecord, or UnrecognizedFailureError and nothing else
"""

from shared.failures.exceptions import UnrecognizedFailureError, UnrecognizedReason
from shared.failures.models import (
    ASYNC_CONDITIONS,
    STREAM_CONDITIONS,
    AsyncInvocationRecord,
    DDBStreamBatchInfo,
    KafkaBatchInfo,
    KinesisBatchInfo,
    LambdaDlqAttributes,
    StreamOnFailureRecord,
)
from shared.failures.parser import parse_failure
from shared.failures.record import (
    Delivery,
    ErrorInfo,
    FailureKind,
    FailureRecord,
    StreamPointer,
    StreamRange,
)

__all__ = [
    "ASYNC_CONDITIONS",
    "STREAM_CONDITIONS",
    "AsyncInvocationRecord",
    "DDBStreamBatchInfo",
    "Delivery",
    "ErrorInfo",
    "FailureKind",
    "FailureRecord",
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

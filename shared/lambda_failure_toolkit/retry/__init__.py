"""Retries on tenacity, and the classification that decides what is worth retrying."""

from lambda_failure_toolkit.retry.classification import (
    PERMANENT_ERROR_CODES,
    TRANSIENT_ERROR_CODES,
    ErrorClass,
    PermanentError,
    PoisonRecordError,
    TransientError,
    classify,
    error_code,
    error_message,
)
from lambda_failure_toolkit.retry.policy import (
    DEFAULT_DEADLINE_MARGIN_S,
    Deadline,
    RetryPolicy,
    current_deadline,
    deadline_scope,
    with_invocation_deadline,
)

__all__ = [
    "DEFAULT_DEADLINE_MARGIN_S",
    "PERMANENT_ERROR_CODES",
    "TRANSIENT_ERROR_CODES",
    "Deadline",
    "ErrorClass",
    "PermanentError",
    "PoisonRecordError",
    "RetryPolicy",
    "TransientError",
    "classify",
    "current_deadline",
    "deadline_scope",
    "error_code",
    "error_message",
    "with_invocation_deadline",
]

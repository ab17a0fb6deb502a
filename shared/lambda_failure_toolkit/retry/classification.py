"""Which errors are worth retrying: transient, permanent, or poison (the record itself is bad)."""

import json
from enum import StrEnum
from typing import Final

from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyPersistenceLayerError,
)
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pydantic import ValidationError

__all__ = [
    "PERMANENT_ERROR_CODES",
    "TRANSIENT_ERROR_CODES",
    "ErrorClass",
    "PermanentError",
    "PoisonRecordError",
    "TransientError",
    "classify",
    "error_code",
    "error_message",
]


class ErrorClass(StrEnum):
    TRANSIENT = "transient"
    """Throttling, 5xx, timeouts, lost connections: the same call may succeed later."""
    PERMANENT = "permanent"
    """Validation, access denied, not found, and anything unknown: retrying the call will not help."""
    POISON = "poison"
    """The record itself is bad: no retry, by anyone, will ever help. Report it, keep it, move on."""


class TransientError(Exception):
    """Raise (or raise from) this in domain code for a failure worth retrying."""


class PermanentError(Exception):
    """Raise (or raise from) this in domain code for a failure retrying will not fix."""


class PoisonRecordError(Exception):
    """Raise (or raise from) this when the record being processed can never succeed."""


# botocore's own throttling and transient codes (botocore.retries.standard), plus the 5xx and
# throttling codes services return under other names.
TRANSIENT_ERROR_CODES: Final = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "RequestThrottled",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "LimitExceededException",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
        "KMSThrottlingException",
        "KmsThrottled",  # SQS (JSON protocol) on a KMS-encrypted queue
        "KMS.ThrottlingException",  # the same, as botocore's query-compatible code
        "KMSThrottling",  # SNS on a KMS-encrypted topic
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "InternalServerException",
        "InternalServiceError",
        "ServiceException",
        "EC2UnexpectedException",
        "ResourceConflictException",  # Lambda: the function is being updated
        "ResourceNotReadyException",  # Lambda: the function is still being created
        "AWS.SimpleQueueService.RequestThrottled",
    }
)
PERMANENT_ERROR_CODES: Final = frozenset(
    {
        "ValidationException",
        "ValidationError",
        "InvalidParameterValue",
        "InvalidParameterValueException",
        "InvalidParameterException",
        "InvalidRequestContentException",
        "InvalidMessageContents",
        "MissingParameter",
        "SerializationException",
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "KMSAccessDeniedException",
        "KMSDisabledException",
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "ExpiredTokenException",
        "ResourceNotFoundException",
        "NotFound",
        "NotFoundException",
        "NoSuchKey",
        "NoSuchBucket",
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
        "ConditionalCheckFailedException",
        "RequestEntityTooLargeException",
    }
)
_THROTTLING_STATUS: Final = 429
_SERVER_ERROR_STATUS: Final = 500


def classify(error: BaseException) -> ErrorClass:
    """Classify an error by what it is, or else by what it was raised from.

    Unknown errors are PERMANENT: retrying a bug in-process only burns the invocation's time,
    and the event source retries the record anyway.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        found = _classify_one(current)
        if found is not None:
            return found
        current = current.__cause__
    return ErrorClass.PERMANENT


def _classify_one(error: BaseException) -> ErrorClass | None:
    match error:
        case PoisonRecordError() | ValidationError() | json.JSONDecodeError() | UnicodeDecodeError():
            return ErrorClass.POISON
        case TransientError() | IdempotencyAlreadyInProgressError() | IdempotencyPersistenceLayerError():
            # Another invocation is applying the same event right now, or the idempotency table
            # did not answer: later, this event may well apply.
            return ErrorClass.TRANSIENT
        case PermanentError():
            return ErrorClass.PERMANENT
        case ClientError():
            return _classify_client_error(error)
        case BotocoreConnectionError() | HTTPClientError() | ConnectionError() | TimeoutError():
            # botocore's connection and read/connect timeout errors, and the builtin ones:
            # the network failed, not the request.
            return ErrorClass.TRANSIENT
        case _:
            return None


def error_code(error: ClientError) -> str:
    """The AWS error code of `error` ("" when the response has none).

    Hand-made responses (fakes, stubs) may lack parts: read defensively, or the retry predicate
    would raise inside tenacity and hide the original error.
    """
    details = error.response.get("Error")
    return str(details.get("Code", "")) if isinstance(details, dict) else ""


def error_message(error: ClientError) -> str:
    """The message AWS gave with `error` ("" when there is none)."""
    details = error.response.get("Error")
    return str(details.get("Message", "")) if isinstance(details, dict) else ""


def _classify_client_error(error: ClientError) -> ErrorClass:
    code = error_code(error)
    if code in TRANSIENT_ERROR_CODES:
        return ErrorClass.TRANSIENT
    if code in PERMANENT_ERROR_CODES:
        return ErrorClass.PERMANENT
    metadata = error.response.get("ResponseMetadata")
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    if not isinstance(status, int):
        return ErrorClass.PERMANENT
    if status == _THROTTLING_STATUS or status >= _SERVER_ERROR_STATUS:
        return ErrorClass.TRANSIENT
    return ErrorClass.PERMANENT

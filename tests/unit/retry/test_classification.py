import json

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import BaseModel, ValidationError

from lambda_failure_toolkit.retry import (
    PERMANENT_ERROR_CODES,
    TRANSIENT_ERROR_CODES,
    ErrorClass,
    PermanentError,
    PoisonRecordError,
    TransientError,
    classify,
)


def client_error(code: str, status: int = 400, operation: str = "SendMessageBatch") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "..."}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
    )


class Order(BaseModel):
    order_id: str


def validation_error() -> ValidationError:
    try:
        Order.model_validate({})
    except ValidationError as error:
        return error
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    "code",
    [
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "TooManyRequestsException",
        "ServiceUnavailable",
        "InternalError",
        "SlowDown",
        "Throttling",
        "KMSThrottlingException",
        "RequestTimeout",
    ],
)
def test_throttling_and_server_codes_are_transient(code: str) -> None:
    assert code in TRANSIENT_ERROR_CODES
    assert classify(client_error(code)) is ErrorClass.TRANSIENT


@pytest.mark.parametrize(
    "code",
    ["ValidationException", "AccessDenied", "AccessDeniedException", "ResourceNotFoundException", "NoSuchKey",
     "QueueDoesNotExist", "ConditionalCheckFailedException"],
)  # fmt: skip
def test_validation_access_and_not_found_codes_are_permanent(code: str) -> None:
    assert code in PERMANENT_ERROR_CODES
    assert classify(client_error(code, status=400)) is ErrorClass.PERMANENT


def test_the_two_code_lists_do_not_overlap() -> None:
    assert not TRANSIENT_ERROR_CODES & PERMANENT_ERROR_CODES


@pytest.mark.parametrize(("status", "expected"), [(429, "transient"), (500, "transient"), (503, "transient"),
                                                  (400, "permanent"), (403, "permanent"), (404, "permanent")])  # fmt: skip
def test_unknown_codes_are_classified_by_http_status(status: int, expected: str) -> None:
    assert classify(client_error("SomethingNew", status=status)) is ErrorClass(expected)


def test_a_listed_code_wins_over_its_status() -> None:
    # Some services return throttling with a 400 status.
    assert classify(client_error("ThrottlingException", status=400)) is ErrorClass.TRANSIENT
    assert classify(client_error("AccessDenied", status=500)) is ErrorClass.PERMANENT


def test_client_error_without_metadata_is_permanent() -> None:
    assert classify(ClientError({}, "Invoke")) is ErrorClass.PERMANENT


@pytest.mark.parametrize(
    "error",
    [
        EndpointConnectionError(endpoint_url="https://sqs.eu-west-1.amazonaws.com"),
        ReadTimeoutError(endpoint_url="https://sqs.eu-west-1.amazonaws.com"),
        ConnectTimeoutError(endpoint_url="https://sqs.eu-west-1.amazonaws.com"),
        TimeoutError("socket timed out"),
        ConnectionResetError("reset by peer"),
        TransientError("downstream busy"),
    ],
)
def test_network_failures_are_transient(error: BaseException) -> None:
    assert classify(error) is ErrorClass.TRANSIENT


@pytest.mark.parametrize(
    "error",
    [
        PoisonRecordError("order has no id"),
        validation_error(),
        json.JSONDecodeError("Expecting value", "x", 0),
        UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"),
    ],
)
def test_bad_records_are_poison(error: BaseException) -> None:
    assert classify(error) is ErrorClass.POISON


@pytest.mark.parametrize(
    "error", [PermanentError("no"), KeyError("x"), RuntimeError("bug"), FileNotFoundError("f")]
)
def test_unknown_errors_are_permanent(error: BaseException) -> None:
    assert classify(error) is ErrorClass.PERMANENT


def test_a_wrapped_error_is_classified_by_its_cause() -> None:
    class DomainError(Exception):
        pass

    def reserve_stock() -> None:
        try:
            raise client_error("ThrottlingException")
        except ClientError as cause:
            raise DomainError("could not reserve stock") from cause

    with pytest.raises(DomainError) as raised:
        reserve_stock()
    assert classify(raised.value) is ErrorClass.TRANSIENT


def test_a_cause_cycle_does_not_loop() -> None:
    first, second = RuntimeError("a"), RuntimeError("b")
    first.__cause__, second.__cause__ = second, first
    assert classify(first) is ErrorClass.PERMANENT


@pytest.mark.parametrize(
    "code", ["KmsThrottled", "KMS.ThrottlingException", "KMSThrottling", "KMSThrottlingException"]
)
def test_kms_throttling_of_encrypted_queues_and_topics_is_transient(code: str) -> None:
    assert classify(client_error(code, status=400)) is ErrorClass.TRANSIENT


@pytest.mark.parametrize(
    "response",
    [
        {"Error": None},
        {"Error": "Throttling"},
        {"ResponseMetadata": {"HTTPStatusCode": None}},
        {"ResponseMetadata": {"HTTPStatusCode": "503"}},
        {"ResponseMetadata": None},
    ],
)
def test_malformed_client_errors_are_classified_not_raised(response: dict[str, object]) -> None:
    # A fake or stub may build the error and then give it a response botocore itself never would.
    error = client_error("Anything")
    error.response = response  # type: ignore[assignment]
    assert classify(error) is ErrorClass.PERMANENT

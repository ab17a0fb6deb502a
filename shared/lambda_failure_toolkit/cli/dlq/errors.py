"""The ways `dlq` refuses to run, and what it says about AWS errors."""

from collections.abc import Sequence
from typing import Final

from botocore.exceptions import (
    ClientError,
    CredentialRetrievalError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)

from lambda_failure_toolkit.retry import error_code, error_message

__all__ = ["RefusedError", "aws_reason", "is_setup_error", "setup_problem"]

_CREDENTIAL_CODES: Final = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_SETUP_ERRORS: Final = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
    ProfileNotFound,
    NoRegionError,
    EndpointConnectionError,
)


class RefusedError(Exception):
    """The command cannot run as asked; nothing was touched."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(message)


def is_setup_error(error: BaseException) -> bool:
    """Credentials, a profile, a region or an endpoint that do not work: whichever call comes first
    fails, and the operator has to fix them, not the request."""
    if isinstance(error, ClientError):
        return error_code(error) in _CREDENTIAL_CODES
    return isinstance(error, _SETUP_ERRORS)


def setup_problem(error: BaseException) -> str:
    """What to do about it (an error `is_setup_error` accepts)."""
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found: configure them (aws configure, aws sso login, AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region: give --region or set AWS_REGION"
    if isinstance(error, ProfileNotFound):
        return f"{error}: check --profile or AWS_PROFILE (aws configure list-profiles)"
    if isinstance(error, EndpointConnectionError):
        return f"{error}: check --endpoint-url, --region and the network"
    if isinstance(error, ClientError):
        return f"AWS refused the credentials ({aws_reason(error)}): refresh them (e.g. aws sso login)"
    return f"AWS credentials: {error}"


def aws_reason(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error_message(error)}"
    return str(error)

"""The AWS clients of one `dlq` command: the operator's credentials (boto3's default chain, or a
profile), a region and, for an emulator, an endpoint. The engine's are built as the function's are
(`lambda_failure_toolkit.clients`: botocore's retries off, explicit timeouts), so that its
`RetryPolicy` alone retries, within the run's deadline."""

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import InvalidRegionError

from lambda_failure_toolkit.cli.dlq.errors import RefusedError
from lambda_failure_toolkit.clients import INVOKE_READ_TIMEOUT_S, client, dynamodb_resource
from lambda_failure_toolkit.ledger import FailureLedger

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["AwsFactory", "AwsSession"]


class AwsSession:
    def __init__(
        self, *, region: str | None = None, endpoint_url: str | None = None, profile: str | None = None
    ) -> None:
        self._session = boto3.Session(region_name=region, profile_name=profile)
        self._endpoint_url = endpoint_url

    @property
    def region(self) -> str | None:
        return self._session.region_name

    def sqs(self) -> "SQSClient":
        return self._checked(lambda: client("sqs", session=self._session, endpoint_url=self._endpoint_url))

    def lambda_client(self) -> "LambdaClient":
        """For Invoke: one attempt a call (a retried RequestResponse invoke would run its function
        twice), and reads as long as a function may run."""
        return self._checked(
            lambda: client(
                "lambda",
                session=self._session,
                endpoint_url=self._endpoint_url,
                read_timeout_s=INVOKE_READ_TIMEOUT_S,
            )
        )

    def logs(self) -> "CloudWatchLogsClient":
        return self._checked(lambda: client("logs", session=self._session, endpoint_url=self._endpoint_url))

    def cloudformation(self) -> Any:
        return self._checked(lambda: self._session.client("cloudformation", endpoint_url=self._endpoint_url))

    def caller_arn(self) -> str:
        sts: Any = self._checked(lambda: self._session.client("sts", endpoint_url=self._endpoint_url))
        return str(sts.get_caller_identity()["Arn"])

    def ledger(self, table: str, bucket: str) -> FailureLedger:
        dynamodb = self._checked(
            lambda: dynamodb_resource(session=self._session, endpoint_url=self._endpoint_url)
        )
        s3 = self._checked(lambda: client("s3", session=self._session, endpoint_url=self._endpoint_url))
        return FailureLedger(dynamodb.Table(table), s3, bucket)

    def _checked[T](self, build: Callable[[], T]) -> T:
        """A client, or one line saying which region or endpoint botocore refused to build it with."""
        try:
            return build()
        except InvalidRegionError as exc:
            region = exc.kwargs.get("region_name")
            raise RefusedError(
                f"the region {region!r} is not an AWS region name (such as eu-west-1): check --region, "
                "AWS_REGION or the profile's region"
            ) from exc
        except ValueError as exc:  # botocore's "Invalid endpoint", or urllib's on a malformed IPv6 host
            where = (
                f"--endpoint-url {self._endpoint_url!r}"
                if self._endpoint_url
                else "the endpoint configured (AWS_ENDPOINT_URL or the profile's endpoint_url)"
            )
            raise RefusedError(
                f"{where} is not a valid URL ({exc}): give one such as http://localhost:4566"
            ) from exc


class AwsFactory(Protocol):
    """How the tool makes its session (`AwsSession` itself; tests pass fakes)."""

    def __call__(
        self, *, region: str | None, endpoint_url: str | None, profile: str | None
    ) -> AwsSession: ...

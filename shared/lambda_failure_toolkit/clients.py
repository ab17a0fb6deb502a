"""Every AWS client the toolkit calls, built in one place: one retry layer, explicit timeouts.

botocore retries a throttle or a 5xx up to 3 times inside each call, with sleeps of its own that
know nothing of the invocation's deadline. Where `RetryPolicy` wraps the call (the ledger, the
consumer, the alerts, the redrive, the failure reporter, the sample's store), that would multiply
the attempts (4 x 3, 6 x 3) and sleep past the deadline: these clients make one attempt a call,
and `RetryPolicy` alone decides, on the deadline. Only a client that code outside the toolkit calls
(Powertools' idempotency) keeps a few quick botocore retries: `botocore_attempts`.

    sqs = client("sqs")                                   # in a function: the default session
    sqs = client("sqs", session=boto3.Session(region_name="eu-west-1"), endpoint_url=url)  # a tool

Timeouts are explicit (botocore waits 60 s to connect and 60 s per read): a call that hangs fails
in time to be retried or reported. A synchronous Invoke waits as long as the function may run:
`client("lambda", read_timeout_s=INVOKE_READ_TIMEOUT_S)`.
"""

from typing import TYPE_CHECKING, Any, Final, Literal, TypedDict, Unpack, overload

from botocore.config import Config

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_dynamodb import DynamoDBClient, DynamoDBServiceResource
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sts import STSClient

__all__ = [
    "CONNECT_TIMEOUT_S",
    "INVOKE_READ_TIMEOUT_S",
    "MAX_POOL_CONNECTIONS",
    "READ_TIMEOUT_S",
    "ClientOptions",
    "client",
    "client_config",
    "dynamodb_resource",
]

CONNECT_TIMEOUT_S: Final = 5.0
READ_TIMEOUT_S: Final = 30.0
"""Longer than SQS's longest receive wait (20 s): a read that takes longer is stuck."""
MAX_POOL_CONNECTIONS: Final = 20
"""One connection a worker of the redrive at its largest concurrency (botocore's default is 10: more
workers than connections would open and drop one per call)."""
INVOKE_READ_TIMEOUT_S: Final = 900.0
"""A synchronous Invoke answers when the function ends: Lambda's longest timeout."""


def client_config(
    *,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
    botocore_attempts: int = 1,
) -> Config:
    """botocore's configuration for a toolkit client: `botocore_attempts` 1 is botocore's retries off."""
    if botocore_attempts < 1:
        raise ValueError(f"botocore_attempts is the attempts of a call, at least 1, not {botocore_attempts}")
    return Config(
        connect_timeout=connect_timeout_s,
        read_timeout=read_timeout_s,
        retries={"total_max_attempts": botocore_attempts, "mode": "standard"},
        max_pool_connections=MAX_POOL_CONNECTIONS,
    )


Service = Literal["dynamodb", "dynamodbstreams", "kinesis", "lambda", "logs", "s3", "sns", "sqs", "sts"]


class ClientOptions(TypedDict, total=False):
    session: "boto3.Session | None"
    """Default: boto3's default session (in a function), else the operator's (a tool's)."""
    endpoint_url: str | None
    """None: the session's (AWS_ENDPOINT_URL included)."""
    region_name: str | None
    connect_timeout_s: float
    read_timeout_s: float
    botocore_attempts: int
    """1 (the default): botocore's retries off, for a call `RetryPolicy` wraps."""


@overload
def client(service: Literal["dynamodb"], **options: Unpack[ClientOptions]) -> "DynamoDBClient": ...
@overload
def client(
    service: Literal["dynamodbstreams"], **options: Unpack[ClientOptions]
) -> "DynamoDBStreamsClient": ...
@overload
def client(service: Literal["kinesis"], **options: Unpack[ClientOptions]) -> "KinesisClient": ...
@overload
def client(service: Literal["lambda"], **options: Unpack[ClientOptions]) -> "LambdaClient": ...
@overload
def client(service: Literal["logs"], **options: Unpack[ClientOptions]) -> "CloudWatchLogsClient": ...
@overload
def client(service: Literal["s3"], **options: Unpack[ClientOptions]) -> "S3Client": ...
@overload
def client(service: Literal["sns"], **options: Unpack[ClientOptions]) -> "SNSClient": ...
@overload
def client(service: Literal["sqs"], **options: Unpack[ClientOptions]) -> "SQSClient": ...
@overload
def client(service: Literal["sts"], **options: Unpack[ClientOptions]) -> "STSClient": ...
def client(service: Service, **options: Unpack[ClientOptions]) -> Any:
    """A client of `service`, botocore's retries off unless `botocore_attempts` says otherwise."""
    # Imported here: the Lambda runtime has boto3, the library does not depend on it (the aws-sdk extra).
    import boto3  # noqa: PLC0415

    session = options.get("session")
    make = session.client if session is not None else boto3.client  # boto3.client: its default session
    return make(
        service,
        endpoint_url=options.get("endpoint_url"),
        region_name=options.get("region_name"),
        config=client_config(
            connect_timeout_s=options.get("connect_timeout_s", CONNECT_TIMEOUT_S),
            read_timeout_s=options.get("read_timeout_s", READ_TIMEOUT_S),
            botocore_attempts=options.get("botocore_attempts", 1),
        ),
    )


def dynamodb_resource(
    *,
    session: "boto3.Session | None" = None,
    endpoint_url: str | None = None,
    region_name: str | None = None,
    connect_timeout_s: float = CONNECT_TIMEOUT_S,
    read_timeout_s: float = READ_TIMEOUT_S,
) -> "DynamoDBServiceResource":
    """DynamoDB's resource API (tables typed as Python values), its client configured as `client`'s."""
    import boto3  # noqa: PLC0415

    config = client_config(connect_timeout_s=connect_timeout_s, read_timeout_s=read_timeout_s)
    make = session.resource if session is not None else boto3.resource
    return make("dynamodb", endpoint_url=endpoint_url, region_name=region_name, config=config)

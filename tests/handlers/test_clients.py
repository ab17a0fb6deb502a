"""One retry layer: every AWS client the wiring builds makes one attempt a call (RetryPolicy retries it,
on the deadline), with explicit timeouts; botocore never sleeps on its own past the deadline."""

from typing import Any

import botocore.session
import pytest
from botocore.awsrequest import AWSResponse

from lambda_failure_toolkit.clients import (
    CONNECT_TIMEOUT_S,
    INVOKE_READ_TIMEOUT_S,
    MAX_POOL_CONNECTIONS,
    READ_TIMEOUT_S,
    client,
)
from lambda_failure_toolkit.failures.report import failure_queue_reporter
from lambda_failure_toolkit.ledger.wiring import alert_publisher, failure_consumer, failure_ledger
from lambda_failure_toolkit.redrive.request import MAX_CONCURRENCY
from lambda_failure_toolkit.redrive.wiring import redrive_engine
from lambda_failure_toolkit.retry import Deadline, RetryPolicy
from orders.wiring import _from_environment


def test_every_client_the_wiring_builds_leaves_retries_to_retry_policy(
    aws: dict[str, Any], mocker: Any
) -> None:
    built = mocker.spy(botocore.session.Session, "create_client")
    failure_ledger()
    failure_consumer()
    alert_publisher()
    redrive_engine()
    failure_queue_reporter()
    _from_environment()
    configs: dict[str, list[Any]] = {}
    for call in built.call_args_list:
        service = call.args[1] if len(call.args) > 1 else call.kwargs["service_name"]
        configs.setdefault(service, []).append(call.kwargs["config"])
    assert set(configs) == {"dynamodb", "s3", "kinesis", "dynamodbstreams", "sns", "sqs", "lambda", "sts"}
    attempts = {
        (service, config.retries["total_max_attempts"])
        for service, found in configs.items()
        for config in found
    }
    # Powertools' idempotency calls its DynamoDB client itself, outside any RetryPolicy: a few quick retries.
    assert attempts == {(service, 1) for service in configs} | {("dynamodb", 3)}
    for service, found in configs.items():
        for config in found:
            assert config.connect_timeout == CONNECT_TIMEOUT_S
            assert config.read_timeout == (INVOKE_READ_TIMEOUT_S if service == "lambda" else READ_TIMEOUT_S)
            if service in {"sqs", "lambda"}:  # a connection for each of the redrive's workers
                assert config.max_pool_connections >= MAX_CONCURRENCY


def test_the_dlq_tools_engine_clients_leave_retries_to_retry_policy_too(
    aws: dict[str, Any], mocker: Any
) -> None:
    from lambda_failure_toolkit.cli.dlq.session import AwsSession

    built = mocker.spy(botocore.session.Session, "create_client")
    session = AwsSession(region="eu-west-1", endpoint_url=None)
    session.sqs()
    session.lambda_client()
    session.ledger("failure-ledger-test", "failure-ledger-test")
    configs = {
        (call.args[1] if len(call.args) > 1 else call.kwargs["service_name"]): call.kwargs["config"]
        for call in built.call_args_list
    }
    assert set(configs) == {"sqs", "lambda", "dynamodb", "s3"}
    for service, config in configs.items():
        assert config.retries["total_max_attempts"] == 1, service
        assert config.read_timeout == (INVOKE_READ_TIMEOUT_S if service == "lambda" else READ_TIMEOUT_S)
        assert config.max_pool_connections == MAX_POOL_CONNECTIONS >= MAX_CONCURRENCY


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class _Body:
    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Any:
        yield self._content


@pytest.mark.parametrize("botocore_attempts", [1, 3])
def test_no_retry_sleep_passes_the_deadline_with_botocore_s_retries_counted(
    aws: dict[str, Any], mocker: Any, botocore_attempts: int
) -> None:
    clock = Clock()
    mocker.patch("time.sleep", clock.sleep)  # botocore's own sleeps, and the policy's
    dynamodb = client("dynamodb", botocore_attempts=botocore_attempts)
    sent: list[float] = []

    def throttled(**_: Any) -> AWSResponse:
        sent.append(clock.now)
        clock.now += 0.05  # each request takes a little time
        body = b'{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate exceeded"}'
        return AWSResponse("https://dynamodb", 400, {}, _Body(body))

    dynamodb.meta.events.register("before-send.dynamodb.GetItem", throttled)
    deadline = Deadline.after(3.0, clock=clock)
    policy = RetryPolicy(max_attempts=6, base_delay_s=0.5, max_delay_s=10.0)
    calls = mocker.spy(dynamodb, "get_item")
    with pytest.raises(dynamodb.exceptions.ClientError, match="Throttling"):
        policy.retrying(deadline=deadline)(lambda: dynamodb.get_item(TableName="t", Key={"k": {"S": "v"}}))
    if botocore_attempts == 1:
        assert len(sent) == calls.call_count  # one request per call: RetryPolicy's attempts are all there are
        assert clock.now <= 3.0  # and no sleep went past the deadline
    else:  # what a client left with botocore's retries would do: requests, and sleeps, the deadline never saw
        assert len(sent) == calls.call_count * botocore_attempts

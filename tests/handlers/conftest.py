"""Handler tier: each handler in-process, with the real sample events and moto for AWS."""

import importlib
import os
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.failures.report import failure_queue_reporter
from lambda_failure_toolkit.ledger.wiring import alert_publisher, failure_consumer, failure_ledger
from lambda_failure_toolkit.redrive.wiring import redrive_engine
from orders.wiring import _from_environment
from tests.events import FIRST_HOP_DLQS
from tests.first_hop import Account, build_account
from tests.redrive_seed import ENVIRONMENT as REDRIVE_ENVIRONMENT
from tests.redrive_seed import seed
from tests.redrive_support import Queues, Serialized
from tests.template import table_definition

HANDLERS = {
    "OrderEventsFunction": "handlers.order_events.app",
    "SqsOrdersFunction": "handlers.sqs_orders.app",
    "SqsFifoOrdersFunction": "handlers.sqs_fifo_orders.app",
    "KinesisOrdersFunction": "handlers.kinesis_orders.app",
    "DynamoDBOrdersFunction": "handlers.dynamodb_orders.app",
    "FailureConsumerFunction": "handlers.failure_consumer.app",
    "RedriveFunction": "handlers.redrive.app",
}
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "handler-tests",
    "POWERTOOLS_METRICS_NAMESPACE": "LambdaFailureToolkit",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "ORDERS_TABLE_NAME": "orders-test",
    "IDEMPOTENCY_TABLE_NAME": "orders-idempotency-test",
    "LEDGER_TABLE_NAME": "failure-ledger-test",
    "LEDGER_BUCKET_NAME": "failure-ledger-test",
    "FIRST_HOP_DLQ_ARNS": ",".join(sorted(FIRST_HOP_DLQS)),
    # botocore 1.40+ sends DynamoDB Streams calls to <account>.streams-ddb.<region>.amazonaws.com,
    # a host moto 5.2 does not intercept; the account-less endpoint it does.
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
}


def _clear_caches() -> None:
    _from_environment.cache_clear()
    failure_queue_reporter.cache_clear()
    get_config.cache_clear()
    failure_ledger.cache_clear()
    failure_consumer.cache_clear()
    alert_publisher.cache_clear()
    redrive_engine.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A moto account holding the template's tables and the failure queue; caches built afresh."""
    for name, value in ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_definition("OrdersTable", os.environ["ORDERS_TABLE_NAME"]))
        dynamodb.create_table(**table_definition("IdempotencyTable", os.environ["IDEMPOTENCY_TABLE_NAME"]))
        dynamodb.create_table(**table_definition("LedgerTable", os.environ["LEDGER_TABLE_NAME"]))
        s3 = boto3.client("s3")
        s3.create_bucket(
            Bucket=os.environ["LEDGER_BUCKET_NAME"],
            CreateBucketConfiguration={"LocationConstraint": os.environ["AWS_DEFAULT_REGION"]},  # type: ignore[typeddict-item]
        )
        sqs = boto3.client("sqs")
        failure_queue_url = sqs.create_queue(QueueName="orders-failures-test")["QueueUrl"]
        monkeypatch.setenv("FAILURE_QUEUE_URL", failure_queue_url)
        sns = boto3.client("sns")
        alert_topic_arn = sns.create_topic(Name="lambda-failure-alerts-test")["TopicArn"]
        monkeypatch.setenv("ALERT_TOPIC_ARN", alert_topic_arn)
        _clear_caches()
        yield {
            "sqs": sqs,
            "sns": sns,
            "s3": s3,
            "dynamodb": dynamodb,
            "failure_queue_url": failure_queue_url,
            "alert_topic_arn": alert_topic_arn,
        }
        _clear_caches()


@pytest.fixture
def redrive_aws(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The moto account, seeded with the redrive's queues, DLQ messages and ledger entries."""
    for name, value in REDRIVE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    seed(
        aws["sqs"],
        boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE_NAME"]),
        aws["s3"],
        os.environ["LEDGER_BUCKET_NAME"],
    )
    return aws


@pytest.fixture(autouse=True)
def _no_real_sleep(mocker: Any) -> None:
    """In-process retries (throttling, an early revision) back off without real time passing."""
    mocker.patch("lambda_failure_toolkit.retry.policy.time.sleep")


def handler_module(function: str) -> ModuleType:
    return importlib.import_module(HANDLERS[function])


@pytest.fixture
def queues(aws: dict[str, Any]) -> Queues:
    """The moto account's queues, their calls one at a time: moto's SQS is not thread-safe (two
    receives at once can split a batch or take a FIFO group twice), SQS is, and the redrive's workers
    call it at once."""
    return Queues(Serialized(aws["sqs"]))


@pytest.fixture
def orders(queues: Queues) -> tuple[str, str]:
    """A source queue and its DLQ."""
    source = queues.create("orders-test")
    return source, queues.create("orders-test-dlq", dlq_of=source)


@pytest.fixture
def account(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Account:
    """The sample's async function, its EventBridge rule and SNS subscription each with a DLQ
    (tests/first_hop.py), and the toolkit configured for them."""
    return build_account(aws, monkeypatch)

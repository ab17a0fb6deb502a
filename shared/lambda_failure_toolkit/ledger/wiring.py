"""Production wiring of the ledger, the failure consumer and its alerts (built once per environment)."""

import functools

from pydantic import Field

from lambda_failure_toolkit.clients import MAX_POOL_CONNECTIONS, client, dynamodb_resource
from lambda_failure_toolkit.concurrent_batch import ConcurrentBatchProcessor
from lambda_failure_toolkit.config import EnvConfig, get_config
from lambda_failure_toolkit.ledger.consumer import FailureConsumer
from lambda_failure_toolkit.ledger.rehydrate import StreamRehydrator
from lambda_failure_toolkit.ledger.report import AlertPublisher
from lambda_failure_toolkit.ledger.store import FailureLedger
from lambda_failure_toolkit.observability import record_failure_logger

__all__ = [
    "ConsumerConfig",
    "LedgerConfig",
    "alert_publisher",
    "consumer_processor",
    "failure_consumer",
    "failure_ledger",
]


class LedgerConfig(EnvConfig):
    LEDGER_TABLE_NAME: str = Field(min_length=1)
    LEDGER_BUCKET_NAME: str = Field(min_length=3)
    LEDGER_RETENTION_DAYS: int = Field(default=90, ge=1, le=3650)


class ConsumerConfig(LedgerConfig):
    ALERT_TOPIC_ARN: str = ""
    """Empty: no alerts (metrics and logs only)."""
    FIRST_HOP_DLQ_ARNS: str = ""
    """Comma-separated ARNs of the EventBridge rule targets' and SNS subscriptions' DLQs the consumer
    reads (the toolkit's FirstHopDlqArns): an SNS subscription's DLQ message says nothing of what it is."""
    CONSUMER_RECORD_WORKERS: int = Field(default=10, ge=1, le=MAX_POOL_CONNECTIONS)
    """Records of a batch recorded at once (the batch size is 10): each waits on its own AWS calls."""


@functools.cache
def failure_ledger() -> FailureLedger:
    config = get_config(LedgerConfig)
    return FailureLedger(
        dynamodb_resource().Table(config.LEDGER_TABLE_NAME),
        client("s3"),
        config.LEDGER_BUCKET_NAME,
        retention_days=config.LEDGER_RETENTION_DAYS,
    )


@functools.cache
def failure_consumer() -> FailureConsumer:
    first_hop_dlqs = get_config(ConsumerConfig).FIRST_HOP_DLQ_ARNS
    return FailureConsumer(
        failure_ledger(),
        StreamRehydrator(client("kinesis"), client("dynamodbstreams")),
        client("s3"),
        first_hop_dlqs=frozenset(arn.strip() for arn in first_hop_dlqs.split(",") if arn.strip()),
    )


@functools.cache
def alert_publisher() -> AlertPublisher | None:
    topic_arn = get_config(ConsumerConfig).ALERT_TOPIC_ARN
    return AlertPublisher(client("sns"), topic_arn) if topic_arn else None


@functools.cache
def consumer_processor() -> ConcurrentBatchProcessor:
    """The consumer's batch processor, built once (Powertools resets it for each batch)."""
    return ConcurrentBatchProcessor(
        get_config(ConsumerConfig).CONSUMER_RECORD_WORKERS, logger=record_failure_logger
    )

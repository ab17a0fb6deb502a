"""Failure queue -> failure ledger: every failure record AWS writes becomes one entry, and each batch
that recorded something sends one alert.

A message the consumer cannot record (not a record AWS writes, or AWS refusing a call) is reported
in `batchItemFailures`: SQS delivers it again and, after `maxReceiveCount`, moves it to the
consumer's own DLQ. The reason is logged. Nothing is dropped.
"""

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.exceptions import BotoCoreError, ClientError

from lambda_failure_toolkit.batch import process_batch
from lambda_failure_toolkit.config import get_config
from lambda_failure_toolkit.failures import UnrecognizedFailureError
from lambda_failure_toolkit.ledger.consumer import FailureConsumer
from lambda_failure_toolkit.ledger.report import AlertPublisher, BatchReport
from lambda_failure_toolkit.ledger.wiring import (
    ConsumerConfig,
    alert_publisher,
    consumer_processor,
    failure_consumer,
)
from lambda_failure_toolkit.observability import logger, metrics, tracer
from lambda_failure_toolkit.retry import with_invocation_deadline


@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
@with_invocation_deadline
def lambda_handler(
    event: dict[str, Any],
    context: LambdaContext,
    consumer: FailureConsumer | None = None,
    alerts: AlertPublisher | None = None,
) -> dict[str, Any]:
    consumer = consumer or failure_consumer()
    alerts = alerts or alert_publisher()
    report = BatchReport()

    # The batch's records are recorded a few at once (CONSUMER_RECORD_WORKERS threads), each entry
    # still by one conditional put: `report` takes them from several threads (list.extend is atomic).
    def record_failures(record: SQSRecord) -> None:  # Powertools passes the record as `record=`
        try:
            report.add(consumer.consume(record.raw_event))
        except UnrecognizedFailureError as error:
            logger.warning(
                "failure record not recorded: not a record AWS writes; it is retried, then kept in the consumer's DLQ",
                extra={"message_id": record.message_id, "reason": error.reason.value, "detail": str(error)},
            )
            raise

    response = process_batch(event, context, consumer_processor(), record_failures, metrics)
    failed = {failure["itemIdentifier"] for failure in response["batchItemFailures"]}
    report.unreadable = len(failed)
    report.newly_unreadable = sum(
        1 for message in event["Records"] if message["messageId"] in failed and _first_receive(message)
    )
    report.publish_metrics(metrics)
    if alerts is not None and report.worth_alerting:
        try:
            alerts.publish(report, ledger_name=get_config(ConsumerConfig).LEDGER_TABLE_NAME)
        except (BotoCoreError, ClientError):
            # The entries are recorded: a lost alert must not make SQS deliver them again.
            logger.exception("the batch's alert was not sent")
            metrics.add_metric(name="AlertsNotSent", unit=MetricUnit.Count, value=1)
    return response


def _first_receive(message: dict[str, Any]) -> bool:
    # A message whose attributes are not an object (SQS never sends one) is unreadable, not a crash.
    attributes = message.get("attributes")
    return isinstance(attributes, dict) and attributes.get("ApproximateReceiveCount") == "1"

"""What the redrive's sample requests (events/redrive/) find in an account: the same for the
in-process handler tests (moto) and the `sam local invoke` tier (a moto server).

The samples name the `dev` stage's queues and functions in account 123456789012, as a deployed
stack would have them (edit the account id before `sam remote invoke` against yours).
"""

import json
from datetime import UTC, datetime
from typing import Any

from lambda_failure_toolkit.ledger.consumer import FailureConsumer
from lambda_failure_toolkit.ledger.rehydrate import StreamRehydrator
from lambda_failure_toolkit.ledger.store import FailureLedger
from tests.failure_queue import sqs_message

ACCOUNT = "123456789012"
ORDERS_QUEUE = "orders-queue-dev"
ORDERS_DLQ = "orders-queue-dlq-dev"
ORDER_EVENTS_DLQ = "order-events-dlq-dev"
FUNCTION = "order-events-dev"


def queue_url(name: str) -> str:
    return f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/{name}"


ENVIRONMENT = {
    # As the toolkit's template sets them: ARNs, from its RedriveTarget*Arns parameters.
    "REDRIVE_ALLOWED_QUEUES": ",".join(
        f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}" for name in (ORDERS_QUEUE, "orders-fifo-dev.fifo")
    ),
    "REDRIVE_ALLOWED_FUNCTIONS": ",".join(
        f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{name}"
        for name in (FUNCTION, "kinesis-orders-dev", "dynamodb-orders-dev")
    ),
    "REDRIVE_STOP_MARGIN_S": "10",
}


def seed(sqs: Any, ledger_table: Any, s3: Any, bucket: str) -> None:
    """Three orders in the SQS DLQ, two events in the Lambda DLQ (one inventory failure), and two
    async failures of order-events-dev in the ledger."""
    dlq = sqs.create_queue(QueueName=ORDERS_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName=ORDERS_QUEUE,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
    )
    for number in range(3):
        sqs.send_message(
            QueueUrl=dlq, MessageBody=json.dumps({"order_id": f"o-{number}", "total_cents": 1000})
        )
    events_dlq = sqs.create_queue(QueueName=ORDER_EVENTS_DLQ)["QueueUrl"]
    for request_id, error in (
        ("req-1", "inventory service returned 503"),
        ("req-2", "total_cents is negative"),
    ):
        sqs.send_message(
            QueueUrl=events_dlq,
            MessageBody=json.dumps({"detail-type": "OrderPlaced", "detail": {"order_id": request_id}}),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": request_id},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error},
            },
        )
    consumer = FailureConsumer(FailureLedger(ledger_table, s3, bucket), StreamRehydrator(None, None), s3)  # type: ignore[arg-type]
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for number in range(2):
        record = {
            "version": "1.0",
            "timestamp": now,
            "requestContext": {
                "requestId": f"ledger-{number}",
                "functionArn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:{FUNCTION}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": {"detail": {"order_id": f"o-{number}", "total_cents": 1000}},
            "responseContext": {
                "statusCode": 200,
                "executedVersion": "$LATEST",
                "functionError": "Unhandled",
            },
            "responsePayload": {"errorType": "InventoryUnavailableError", "errorMessage": "503"},
        }
        consumer.consume(sqs_message(json.dumps(record)))

"""What the redrive's sample requests (events/redrive/) find in the in-process handler tests' moto
account, which has none of the templates' queues (`make invoke` and the `sam local invoke` tier
create them from the templates, then fill them with the same `local_invoke.samples`).

The samples name the `dev` stage's queues and functions in account 123456789012, as a deployed
stack would have them (edit the account id before `sam remote invoke` against yours).
"""

import json
from typing import Any

from lambda_failure_toolkit.ledger.store import FailureLedger
from local_invoke.samples import fill_redrive_sources

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
    """The `dev` stage's queues the samples name (the orders queue redriving to its DLQ), filled as
    `local_invoke.samples` says: three orders in the DLQ, two events in the Lambda DLQ, two async
    failures of order-events-dev in the ledger."""
    dlq = sqs.create_queue(QueueName=ORDERS_DLQ)["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(
        QueueName=ORDERS_QUEUE,
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})},
    )
    fill_redrive_sources(
        sqs,
        orders_dlq_url=dlq,
        order_events_dlq_url=sqs.create_queue(QueueName=ORDER_EVENTS_DLQ)["QueueUrl"],
        ledger=FailureLedger(ledger_table, s3, bucket),
    )

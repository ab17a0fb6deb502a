"""What the redrive's sample requests (events/redrive/) find in an account besides empty stores:
the state of a `dev` stage after the failures they redrive. The same for `make invoke`, the
`sam local invoke` tier and the in-process handler tests (tests/redrive_seed.py), so that one set
of expected reports serves all three.
"""

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lambda_failure_toolkit.failures import parse_failure
from lambda_failure_toolkit.ledger.consumer import ledger_entry
from lambda_failure_toolkit.ledger.models import Rehydration, RehydrationStatus
from lambda_failure_toolkit.ledger.store import FailureLedger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

    from local_invoke.account import LocalAccount

__all__ = ["FAILED_FUNCTION", "fill_redrive_sources", "prepare"]

FAILED_FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:order-events-dev"
"""The async function whose failures wait in its DLQ and in the ledger (the sample's, stage dev)."""


def fill_redrive_sources(
    sqs: "SQSClient", *, orders_dlq_url: str, order_events_dlq_url: str, ledger: FailureLedger
) -> None:
    """Three orders in the orders queue's DLQ; two events in the async function's DLQ, with the
    attributes Lambda adds (one an inventory failure); two of its RetriesExhausted records in the
    ledger."""
    for number in range(3):
        sqs.send_message(
            QueueUrl=orders_dlq_url, MessageBody=json.dumps({"order_id": f"o-{number}", "total_cents": 1000})
        )
    for request_id, error in (
        ("req-1", "inventory service returned 503"),
        ("req-2", "total_cents is negative"),
    ):
        sqs.send_message(
            QueueUrl=order_events_dlq_url,
            MessageBody=json.dumps({"detail-type": "OrderPlaced", "detail": {"order_id": request_id}}),
            MessageAttributes={
                "RequestID": {"DataType": "String", "StringValue": request_id},
                "ErrorCode": {"DataType": "Number", "StringValue": "200"},
                "ErrorMessage": {"DataType": "String", "StringValue": error},
            },
        )
    now = datetime.now(UTC)
    for number in range(2):
        failure = parse_failure(_retries_exhausted(f"ledger-{number}", f"o-{number}", now))
        ledger.record(
            ledger_entry(failure, Rehydration(status=RehydrationStatus.NOT_APPLICABLE), recorded_at=now)
        )


def _retries_exhausted(request_id: str, order_id: str, at: datetime) -> dict[str, Any]:
    """Lambda's OnFailure record of an async event that failed every attempt."""
    return {
        "version": "1.0",
        "timestamp": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{FAILED_FUNCTION}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"detail": {"order_id": order_id, "total_cents": 1000}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "InventoryUnavailableError", "errorMessage": "503"},
    }


def prepare(function: str, account: "LocalAccount") -> None:
    """What `function`'s sample events expect beyond the empty stores (only the redrive's do)."""
    if function != "RedriveFunction":
        return
    toolkit = account.sample.nested["Toolkit"]
    fill_redrive_sources(
        account.client("sqs"),
        orders_dlq_url=account.sample.store("OrdersQueueDLQ").ref,
        order_events_dlq_url=account.sample.store("OrderEventsDLQ").ref,
        ledger=FailureLedger(
            account.resource("dynamodb").Table(toolkit.store("LedgerTable").name),
            account.client("s3"),
            toolkit.store("LedgerBucket").name,
        ),
    )

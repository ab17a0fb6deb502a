"""Every sample failure record in events/failures/, delivered as the failure queue would deliver it.

AWS puts failure records in the failure queue through several paths: a Lambda or stream mapping
destination (the record is the body), an SNS topic subscribed to the queue (an SNS notification
as the body), an EventBridge rule (the event as the body), an S3 destination whose notifications go
to the queue (an S3 event notification as the body; the record is in the object). Each sample is
turned into the SQS messages its path produces, with the records it must yield, so the consumer
meets every variant the way it would in an account.
"""

import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lambda_failure_toolkit.failures import FailureRecord, UnrecognizedFailureError, parse_failure
from tests.events import FIRST_HOP_DLQS, load_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

FAILURE_QUEUE_ARN = "arn:aws:sqs:eu-west-1:123456789012:orders-failures-test"
DESTINATION_BUCKET = "orders-failures-123456789012"
_IDS = uuid.UUID("6f1c0b1e-2d4f-4a7b-9c3e-5a7d9b1f3c5e")


@dataclass(frozen=True)
class QueuedFailure:
    message: dict[str, Any]
    """The SQS event record the consumer receives."""
    expected: tuple[FailureRecord, ...] | None
    """The failures it holds; None when it is not a failure record (the consumer must report it)."""


def sqs_message(body: str, *, receive_count: int = 1) -> dict[str, Any]:
    """An SQS event record (as Lambda's SQS mapping delivers it) with `body`; its id derives from the body."""
    message_id = str(uuid.uuid5(_IDS, body))
    return {
        "messageId": message_id,
        "receiptHandle": f"AQEB{message_id.replace('-', '')}",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1763630531000",
            "SenderId": "AROAEXAMPLE:awslambda",
            "ApproximateFirstReceiveTimestamp": "1763630531005",
        },
        "messageAttributes": {},
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),  # noqa: S324 -- SQS's own checksum
        "eventSource": "aws:sqs",
        "eventSourceARN": FAILURE_QUEUE_ARN,
        "awsRegion": "eu-west-1",
    }


def _parsed(raw: Any, source: str | None = None) -> tuple[FailureRecord, ...] | None:
    try:
        return (parse_failure(raw, source=source, first_hop_dlqs=FIRST_HOP_DLQS),)
    except UnrecognizedFailureError:
        return None


def _sns_notification(record: dict[str, Any]) -> str:
    """What SNS delivers to a subscribed queue (raw delivery off) for a Lambda SNS event record."""
    sns = dict(record["Sns"])
    renamed = {"SigningCertUrl": "SigningCertURL", "UnsubscribeUrl": "UnsubscribeURL"}
    notification = {renamed.get(key, key): value for key, value in sns.items() if value is not None}
    if not notification.get("MessageAttributes"):
        notification.pop("MessageAttributes", None)
    return json.dumps(notification)


def _s3_notification(bucket: str, key: str) -> str:
    return json.dumps(
        {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": "eu-west-1",
                    "eventTime": "2026-11-20T11:40:04.118Z",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": bucket}, "object": {"key": key.replace(" ", "+")}},
                }
            ]
        }
    )


def queued_failures(sample: str, s3: "S3Client") -> list[QueuedFailure]:
    """The failure queue's messages for `sample` (a path under events/), S3 objects put where needed."""
    event = load_event(sample)
    if sample.startswith("failures/destinations/s3/"):
        # An S3 destination's object, announced to the queue by the bucket's notification.
        key = f"aws/lambda/samples/{sample.rsplit('/', 1)[-1]}"
        s3.put_object(Bucket=DESTINATION_BUCKET, Key=key, Body=json.dumps(event).encode())
        expected = _parsed(event, source=f"s3://{DESTINATION_BUCKET}/{key}")
        return [QueuedFailure(sqs_message(_s3_notification(DESTINATION_BUCKET, key)), expected)]
    records = event.get("Records")
    if not isinstance(records, list):  # a destination's bare record, or an EventBridge event
        return [QueuedFailure(sqs_message(json.dumps(event)), _parsed(event))]
    queued = []
    for record in records:
        if record.get("eventSource") == "aws:sqs":
            queued.append(QueuedFailure(record, _parsed(record)))
        elif record.get("EventSource") == "aws:sns":
            queued.append(QueuedFailure(sqs_message(_sns_notification(record)), _parsed(record)))
        else:  # an S3 notification: the object it names is the S3 destination sample it points at
            bucket, key = record["s3"]["bucket"]["name"], record["s3"]["object"]["key"]
            body = load_event("failures/destinations/s3/kinesis_object_payload.json")
            s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(body).encode())
            expected = _parsed(body, source=f"s3://{bucket}/{key}")
            queued.append(QueuedFailure(sqs_message(json.dumps({"Records": [record]})), expected))
    return queued


def async_record(payload: Any, request_id: str = "0f8c7a55-5b1c-4e8e-9a0f-2d6c1b7e4a10") -> dict[str, Any]:
    """The record Lambda sends to an async OnFailure destination after its retries, for `payload`."""
    return {
        "version": "1.0",
        "timestamp": "2026-11-21T09:00:00.000Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:order-events-test:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 3,
        },
        "requestPayload": payload,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "ValueError", "errorMessage": "boom"},
    }

"""Ships orders from an SQS queue; a message that says it is not ok fails (and, after one receive,
SQS parks it in the queue's DLQ)."""

import json


def handler(event, context):
    failed = [
        {"itemIdentifier": record["messageId"]}
        for record in event["Records"]
        if json.loads(record["body"]).get("ok") is False
    ]
    return {"batchItemFailures": failed}

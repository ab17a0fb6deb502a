"""What both sides of each benchmark share: the events, a context, and the environment."""

import base64
import copy
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-1",
    "AWS_ACCESS_KEY_ID": "benchmark",
    "AWS_SECRET_ACCESS_KEY": "benchmark",
    "POWERTOOLS_SERVICE_NAME": "benchmark",
    "POWERTOOLS_METRICS_NAMESPACE": "LambdaFailureToolkit",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "ORDERS_TABLE_NAME": "orders-benchmark",
    "IDEMPOTENCY_TABLE_NAME": "orders-idempotency-benchmark",
    "FIFO_SKIP_GROUP_ON_ERROR": "false",
    "STREAM_FAIL_FAST": "true",
}


def set_environment() -> None:
    os.environ.update(ENVIRONMENT)


def batch(source: str, size: int, start: int = 0) -> dict[str, Any]:
    """`size` good records of `source` (sqs, sqs-fifo, kinesis, dynamodb): distinct new orders."""

    template = json.loads((ROOT / "events" / source / "all_good.json").read_text())["Records"][0]
    records = []
    for offset in range(size):
        index = start + offset
        order = {"order_id": f"ord-{index}", "revision": 1, "event_type": "OrderPlaced",
                 "occurred_at": "2026-11-20T10:00:00Z", "total_cents": 4599, "currency": "EUR"}  # fmt: skip
        record = copy.deepcopy(template)
        if source.startswith("sqs"):
            record["messageId"] = f"message-{index}"
            record["body"] = json.dumps(order)
        elif source == "kinesis":
            record["kinesis"]["sequenceNumber"] = str(10**50 + index)
            record["kinesis"]["data"] = base64.b64encode(json.dumps(order).encode()).decode()
        else:
            record["dynamodb"]["SequenceNumber"] = str(10**24 + index)
            record["dynamodb"]["NewImage"]["order_id"] = {"S": order["order_id"]}
        records.append(record)
    return {"Records": records}


class Context:
    function_name = "benchmark"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    aws_request_id = "00000000-0000-4000-8000-000000000000"
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:benchmark"
    log_group_name = "/aws/lambda/benchmark"
    log_stream_name = "benchmark"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000

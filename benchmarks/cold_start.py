"""Cold start of each batch handler against a minimal Powertools batch handler.

Each side runs in a fresh interpreter: the clock starts at its first line, then come its imports,
the boto3 clients it creates (the orders table resource and the idempotency client, which both
sides create), and its first invocation with a 10-record batch. The work of each record (validate
it into an OrderEvent, apply it to an in-memory store) is the same on both sides, so no network
call is timed.

    .venv/bin/python benchmarks/cold_start.py [--runs 15]
"""

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PRELUDE = """
import time
started = time.perf_counter()
import sys
sys.path.insert(0, {root!r})
from benchmarks.common import Context, batch, set_environment
set_environment()
"""

ANCHOR = {
    "sqs": ("SQS", "OrderSqsRecord", "record.body"),
    "sqs-fifo": ("SQS", "OrderSqsRecord", "record.body"),
    "kinesis": ("KinesisDataStreams", "OrderKinesisRecord", "record.kinesis.data"),
    "dynamodb": ("DynamoDBStreams", None, "order_event_from_outbox_change(record)"),
}

ANCHOR_BODY = """
import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel
from orders import apply_order_event
from tests.fakes import InMemoryOrderStore
from orders.records import OrderKinesisRecord, OrderSqsRecord, order_event_from_outbox_change

logger, metrics, tracer = Logger(), Metrics(), Tracer()
table = boto3.resource("dynamodb").Table("orders-benchmark")
idempotency = boto3.client("dynamodb")
store = InMemoryOrderStore()
processor = BatchProcessor(EventType.{event_type}, model={model})

@logger.inject_lambda_context
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event, context):
    return process_partial_response(
        event=event, record_handler=lambda record: apply_order_event({order_of}, store), processor=processor, context=context
    )

response = handler(batch({source!r}, 10), Context())
"""

OURS_BODY = """
from handlers.{module} import app
from tests.fakes import InMemoryOrderStore
from orders.service import OrderEventProcessor
from orders.wiring import _from_environment

_from_environment()  # the function's own clients: orders table resource, idempotency persistence layer
response = app.lambda_handler(batch({source!r}, 10), Context(), orders=OrderEventProcessor(InMemoryOrderStore(), None))
"""

EPILOGUE = """
assert not response["batchItemFailures"], response
print("COLD_START", time.perf_counter() - started, file=sys.stderr)
"""

MODULES = {
    "sqs": "sqs_orders",
    "sqs-fifo": "sqs_fifo_orders",
    "kinesis": "kinesis_orders",
    "dynamodb": "dynamodb_orders",
}


def script(side: str, source: str) -> str:
    if side == "anchor":
        event_type, model, order_of = ANCHOR[source]
        body = ANCHOR_BODY.format(
            event_type=event_type,
            model=model or "DynamoDBStreamRecordModel",
            order_of=order_of,
            source=source,
        )
    else:
        body = OURS_BODY.format(module=MODULES[source], source=source)
    return PRELUDE.format(root=str(ROOT)) + body + EPILOGUE


def cold_start_s(code: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    line = next(line for line in result.stderr.splitlines() if line.startswith("COLD_START"))
    return float(line.split()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\\n\\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    print(f"cold start (imports + clients + first 10-record batch), median of {args.runs} fresh interpreters")
    print(f"{'source':10} {'Powertools s':>13} {'ours s':>8} {'ratio':>7}")
    for source in MODULES:
        anchor_code, ours_code = script("anchor", source), script("ours", source)
        anchor, ours = [], []
        for run in range(args.runs):
            for side, code in (("anchor", anchor_code), ("ours", ours_code))[:: 1 if run % 2 else -1]:
                (anchor if side == "anchor" else ours).append(cold_start_s(code))
        a, o = statistics.median(anchor), statistics.median(ours)
        print(f"{source:10} {a:13.3f} {o:8.3f} {o / a:7.2f}x")


if __name__ == "__main__":
    main()

"""Per-record processing time of each of our batch handlers against a plain Powertools handler.

The anchor is the batch handler of Powertools' documentation: Logger, Metrics and Tracer
decorators, a BatchProcessor (for FIFO, Powertools' SqsFifoPartialProcessor) with the same record model, the same two batch metrics, and the same
work for each record (validate it into an OrderEvent, apply it to an in-memory order store). Ours
is the real handler module, which adds the invocation deadline, the order service with its retry
policy, and the fail-fast or FIFO processor. Idempotency is left out on both sides: it is DynamoDB
I/O, not processing overhead.

    .venv/bin/python benchmarks/batch_overhead.py [--batches 500] [--size 10] [--rounds 9]
"""

import argparse
import contextlib
import gc
import io
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import Context, batch, set_environment

set_environment()

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    SqsFifoPartialProcessor,
    process_partial_response,
)
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamRecordModel

from handlers.dynamodb_orders import app as dynamodb_app
from handlers.kinesis_orders import app as kinesis_app
from handlers.sqs_fifo_orders import app as fifo_app
from handlers.sqs_orders import app as sqs_app
from lambda_failure_toolkit.observability import logger, metrics, tracer
from orders import apply_order_event
from orders.records import OrderKinesisRecord, OrderSqsRecord, order_event_from_outbox_change
from orders.service import OrderEventProcessor
from tests.fakes import InMemoryOrderStore

SOURCES: dict[str, tuple[Any, EventType, Any, Callable[[Any], Any]]] = {
    "sqs": (sqs_app, EventType.SQS, OrderSqsRecord, lambda r: r.body),
    "sqs-fifo": (fifo_app, EventType.SQS, OrderSqsRecord, lambda r: r.body),
    "kinesis": (kinesis_app, EventType.KinesisDataStreams, OrderKinesisRecord, lambda r: r.kinesis.data),
    "dynamodb": (
        dynamodb_app,
        EventType.DynamoDBStreams,
        DynamoDBStreamRecordModel,
        order_event_from_outbox_change,
    ),
}


def plain_powertools(
    event_type: EventType, model: Any, order_of: Callable[[Any], Any], *, fifo: bool
) -> Callable[[dict[str, Any]], Any]:
    """The batch handler of Powertools' documentation: the same decorators, processor and metrics."""
    store = InMemoryOrderStore()
    processor = (
        SqsFifoPartialProcessor(model=model)  # Powertools' own FIFO processor: the same FIFO work
        if fifo
        else BatchProcessor(event_type, model=model, raise_on_entire_batch_failure=False)
    )
    context = Context()

    @logger.inject_lambda_context
    @metrics.log_metrics
    @tracer.capture_lambda_handler
    def handler(event: dict[str, Any], context: Any) -> Any:
        response = process_partial_response(
            event=event,
            record_handler=lambda record: apply_order_event(order_of(record), store),
            processor=processor,
            context=context,
        )
        failed = len(response["batchItemFailures"])
        metrics.add_metric(name="BatchRecordsFailed", unit=MetricUnit.Count, value=failed)
        metrics.add_metric(
            name="BatchRecordsSucceeded", unit=MetricUnit.Count, value=len(event["Records"]) - failed
        )
        return response

    return lambda event: handler(event, context)


def ours(app: Any) -> Callable[[dict[str, Any]], Any]:
    orders = OrderEventProcessor(InMemoryOrderStore(), persistence=None)
    context = Context()
    return lambda event: app.lambda_handler(event, context, orders=orders)


def per_record_us(
    handler: Callable[[dict[str, Any]], Any], events: list[dict[str, Any]], warm_up: dict[str, Any]
) -> float:
    gc.collect()
    with contextlib.redirect_stdout(io.StringIO()):  # the EMF metrics lines
        handler(warm_up)
        started = time.perf_counter()
        for event in events:
            response = handler(event)
            assert not response["batchItemFailures"], response
        elapsed = time.perf_counter() - started
    return elapsed / sum(len(event["Records"]) for event in events) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=500)
    parser.add_argument("--size", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    print(
        f"per-record time: {args.batches} batches of {args.size} records; {args.rounds} rounds, alternating which"
    )
    print("side runs first; medians, and the median of the per-round ratios")
    print(f"{'source':10} {'Powertools µs':>14} {'ours µs':>9} {'ratio':>7}")
    for source, (app, event_type, model, order_of) in SOURCES.items():
        events = [batch(source, args.size, start=i * args.size) for i in range(args.batches)]
        warm_up = batch(source, args.size, start=10**7)
        anchor, mine, ratios = [], [], []
        for round_number in range(args.rounds):
            sides = [
                ("anchor", plain_powertools(event_type, model, order_of, fifo=source == "sqs-fifo")),
                ("ours", ours(app)),
            ]
            timed = {
                name: per_record_us(h, events, warm_up) for name, h in sides[:: 1 if round_number % 2 else -1]
            }
            anchor.append(timed["anchor"])
            mine.append(timed["ours"])
            ratios.append(timed["ours"] / timed["anchor"])
        print(
            f"{source:10} {statistics.median(anchor):14.1f} {statistics.median(mine):9.1f} "
            f"{statistics.median(ratios):7.2f}x"
        )


if __name__ == "__main__":
    main()

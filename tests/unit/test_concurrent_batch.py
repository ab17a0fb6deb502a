"""ConcurrentBatchProcessor: Powertools' BatchProcessor with a batch's records handled a few at once."""

import contextvars
import threading
import time
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from lambda_failure_toolkit.concurrent_batch import ConcurrentBatchProcessor

request: contextvars.ContextVar[str] = contextvars.ContextVar("request", default="none")


def sqs_event(count: int) -> dict[str, Any]:
    return {
        "Records": [
            {
                "messageId": f"m-{n}",
                "receiptHandle": "r",
                "body": str(n),
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": "",
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:eu-west-1:1:q",
                "awsRegion": "eu-west-1",
            }
            for n in range(count)
        ]
    }


def run(processor: ConcurrentBatchProcessor, event: dict[str, Any], handler: Any) -> dict[str, Any]:
    return dict(process_partial_response(event=event, record_handler=handler, processor=processor))


def test_failures_are_reported_in_the_batchs_order_whichever_thread_ends_first() -> None:
    # Given a handler that fails the odd records, the earlier ones taking longest
    def handler(record: SQSRecord) -> None:
        n = int(record.body)
        time.sleep((10 - n) * 0.005)
        if n % 2:
            raise ValueError(f"record {n}")

    # When a batch of ten goes through four workers
    response = run(ConcurrentBatchProcessor(4), sqs_event(10), handler)
    # Then the odd records alone are reported, in the batch's order
    assert response == {"batchItemFailures": [{"itemIdentifier": f"m-{n}"} for n in (1, 3, 5, 7, 9)]}


def test_no_more_records_at_once_than_workers_and_the_callers_context_goes_along() -> None:
    # Given a context variable set by the caller (as the invocation's deadline is)
    request.set("invocation-1")
    lock, running, most, seen = threading.Lock(), [0], [0], set()
    # the first three records wait for one another: it passes only if three run at once
    together = threading.Barrier(3, timeout=10)

    def handler(record: SQSRecord) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            seen.add((request.get(), threading.current_thread() is threading.main_thread()))
        if int(record.body) < 3:
            together.wait()
        time.sleep(0.002)
        with lock:
            running[0] -= 1

    # When twelve records go through three workers
    assert run(ConcurrentBatchProcessor(3), sqs_event(12), handler) == {"batchItemFailures": []}
    # Then three at most ran at once, three did, none on the caller's thread, and each saw the caller's value
    assert most[0] == 3
    assert seen == {("invocation-1", False)}


def test_one_worker_is_powertools_own_loop_on_the_callers_thread() -> None:
    threads = set()
    run(ConcurrentBatchProcessor(1), sqs_event(3), lambda record: threads.add(threading.current_thread()))
    assert threads == {threading.main_thread()}


def test_fewer_than_one_worker_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1, not 0"):
        ConcurrentBatchProcessor(0)

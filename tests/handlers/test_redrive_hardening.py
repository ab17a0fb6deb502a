"""Issue 15's findings, each driven for real against moto: what a redrive must not get wrong, stall on,
or overrun its deadline with. Each test failed on the engine before the issue was resolved."""

import base64
import json
import os
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lambda_failure_toolkit.failures import FailureKind, parse_failure
from lambda_failure_toolkit.ledger import FailureLedger, LedgerEntry, LedgerFilter
from lambda_failure_toolkit.ledger.wiring import failure_consumer, failure_ledger
from lambda_failure_toolkit.redrive import RedriveRequestError, RedriveTargets, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.report import RedriveReport
from lambda_failure_toolkit.retry import Deadline
from tests.failure_queue import sqs_message
from tests.handlers.conftest import handler_module
from tests.handlers.test_redrive_engine import (
    FUNCTION,
    IDENTITY,
    Faulty,
    engine,
    invocation_record,
    lambda_dlq_message,
    order,
    orders_allowed,
    redrive,
    stream_entry,
)
from tests.lambda_context import FakeLambdaContext
from tests.redrive_support import ARN, FakeLambda, Queues, client_error

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


class Clock:
    """A clock the test moves: sleeps and slow calls advance it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def fifo_pair(queues: Queues) -> tuple[str, str]:
    source = queues.create("orders-test.fifo", fifo=True)
    return source, queues.create("orders-test-dlq.fifo", dlq_of=source, fifo=True)


def put_group(queues: Queues, dlq: str, numbers: range, group: str = "customer-1") -> None:
    for number in numbers:
        queues.put(dlq, [order(number)], MessageGroupId=group, MessageDeduplicationId=f"d-{group}-{number}")


def numbers_in(messages: list[dict[str, Any]]) -> list[int]:
    return [int(json.loads(m["Body"])["order_id"].removeprefix("o-")) for m in messages]


# ---------------------------------------------------------------- 1. large messages


def test_large_messages_move_in_batches_sized_by_bytes(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    bodies = [json.dumps({"n": n, "pad": "x" * 150_000}) for n in range(10)]
    queues.put(dlq, bodies)
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10},
        orders_allowed(source),
    )
    assert (report.moved, report.failed) == (10, 0)
    assert queues.bodies(source) == sorted(bodies)
    assert queues.bodies(dlq) == []


def test_a_batch_sqs_finds_too_long_is_split_until_it_fits(queues: Queues, orders: tuple[str, str]) -> None:
    """SQS counts attributes the engine cannot see exactly: its BatchRequestTooLong splits the batch."""
    source, dlq = orders
    bodies = [order(n) for n in range(10)]
    queues.put(dlq, bodies)
    sizes: list[int] = []

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "send_message_batch":
            sizes.append(len(kwargs["Entries"]))
            if len(kwargs["Entries"]) > 3:
                raise client_error("AWS.SimpleQueueService.BatchRequestTooLong", operation="SendMessageBatch")
        return real()

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    assert (report.moved, report.failed) == (10, 0)
    assert queues.bodies(source) == sorted(bodies)
    # Each batch SQS refuses is halved until SQS takes each part. How many messages each receive
    # returned (and so the first batches' sizes) is the reader's business, not this test's.
    refused = [size for size in sizes if size > 3]
    halves = Counter(part for size in refused for part in (size // 2, size - size // 2))
    assert not halves - Counter(sizes)  # every half of a refused batch was sent
    first_tries = Counter(sizes) - halves
    # the batches read, before any halving, hold each message once
    assert sum(size * count for size, count in first_tries.items()) == 10
    # and SQS took each message once, in a part of 3 or fewer
    assert sum(size for size in sizes if size <= 3) == 10


# ---------------------------------------------------------------- 2. a FIFO DLQ's groups


def test_a_filter_that_skips_a_fifo_message_moves_the_rest_of_its_group_in_order(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    put_group(queues, dlq, range(1, 26))
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "filter": {"payload_predicate": "order_id != 'o-3'"},
        },
        orders_allowed(source),
    )
    assert (report.status, report.moved, report.skipped_by_filter) == ("complete", 24, 1)
    assert numbers_in(queues.drain(source)) == [n for n in range(1, 26) if n != 3]
    assert numbers_in(queues.drain(dlq)) == [3]


def test_a_dry_run_of_a_fifo_group_says_it_could_not_see_all_of_it(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    put_group(queues, dlq, range(1, 26))
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "max_messages": 100}, orders_allowed(source)
    )
    assert report.would_move == 10  # SQS gives out no more of a group while the run holds some of it
    assert report.status == "stopped"
    assert report.stopped_because is not None
    assert "message group" in report.stopped_because
    assert len(queues.drain(dlq)) == 25


def test_a_dry_run_that_saw_all_of_a_small_fifo_group_is_complete(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    put_group(queues, dlq, range(1, 4))
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "max_messages": 100}, orders_allowed(source)
    )
    assert (report.status, report.would_move) == ("complete", 3)


def test_nothing_after_a_fifo_message_that_cannot_be_redriven_is_sent(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    elsewhere = queues.create("elsewhere.fifo", fifo=True)  # a source queue outside the allow-list
    put_group(queues, dlq, range(1, 5))

    def parked_from(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        response = real()
        if name == "receive_message":  # message 2 was parked from the other queue, as SQS would say
            for message in response.get("Messages", []):
                if message["Body"] == order(2):
                    message["Attributes"]["DeadLetterQueueSourceArn"] = queues.arn(elsewhere)
        return response

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, parked_from),
    )
    assert numbers_in(queues.drain(source)) == [1]
    assert [f.reason for f in report.failures] == [
        f"target not allowed: {elsewhere} is not in the allow-list",
        "not sent: an earlier message of its FIFO group (customer-1) cannot be redriven",
        "not sent: an earlier message of its FIFO group (customer-1) cannot be redriven",
    ]
    assert numbers_in(queues.drain(dlq)) == [2, 3, 4]


def test_ten_skipped_messages_at_the_head_of_a_fifo_group_are_reported_not_complete(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    put_group(queues, dlq, range(1, 16))
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "filter": {"payload_predicate": "order_id == 'o-11'"},  # skips 1-10, then the rest is hidden
        },
        orders_allowed(source),
    )
    assert (report.status, report.moved, report.skipped_by_filter) == ("stopped", 0, 10)
    assert report.stopped_because is not None
    assert "ten the filter skips at the head of the group" in report.stopped_because
    assert len(queues.drain(dlq)) == 15


# ---------------------------------------------------------------- 3. a FIFO target's order


def test_a_fifo_group_arrives_in_order_when_one_entry_is_retried(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    put_group(queues, dlq, range(1, 6))
    failed_once: list[str] = []

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name != "send_message_batch":
            return real()
        third = [e for e in kwargs["Entries"] if e["MessageBody"] == order(3)]
        if not third or failed_once:
            return real()
        failed_once.append(third[0]["Id"])
        rest = [e for e in kwargs["Entries"] if e not in third]
        response = queues.sqs.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=rest) if rest else {}
        response.setdefault("Successful", [])
        response["Failed"] = [
            {"Id": third[0]["Id"], "SenderFault": False, "Code": "InternalError", "Message": "again"}
        ]
        return response

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 5},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    assert report.moved == 5
    assert numbers_in(queues.drain(source)) == [1, 2, 3, 4, 5]


def test_nothing_after_a_refused_fifo_entry_of_its_group_is_sent(queues: Queues) -> None:
    source, dlq = fifo_pair(queues)
    put_group(queues, dlq, range(1, 6))
    put_group(queues, dlq, range(11, 13), group="customer-2")

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name != "send_message_batch":
            return real()
        refused = [e for e in kwargs["Entries"] if e["MessageBody"] == order(3)]
        rest = [e for e in kwargs["Entries"] if e not in refused]
        response = queues.sqs.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=rest) if rest else {}
        response.setdefault("Successful", [])
        response["Failed"] = [
            {"Id": e["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "no"}
            for e in refused
        ]
        return response

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    moved = queues.drain(source)
    assert sorted(numbers_in(moved)) == [1, 2, 11, 12]  # the other group goes on
    assert (report.moved, report.failed) == (4, 3)
    assert {f.reason for f in report.failures} == {
        "InvalidMessageContents: no",
        "not sent: an earlier message of its FIFO group (customer-1) was not accepted",
    }
    assert numbers_in(queues.drain(dlq)) == [3, 4, 5]


# ---------------------------------------------------------------- 4. the report after the work


def test_a_source_that_cannot_be_read_at_the_end_still_gets_the_report_of_what_moved(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(3)])
    reads = {"get_queue_attributes": 0}

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "get_queue_attributes" and kwargs["QueueUrl"] == dlq:
            reads[name] += 1
            if reads[name] > 1:  # deleted mid-run, or access taken away
                raise client_error("AWS.SimpleQueueService.NonExistentQueue", operation="GetQueueAttributes")
        return real()

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 3},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    assert (report.status, report.moved, report.remaining_in_source) == ("complete", 3, None)
    assert len(queues.bodies(source)) == 3


# ---------------------------------------------------------------- 5 and 16. the ledger, by day


class CountingTable:
    """The ledger's table, its Queries counted (and each one taking `query_s` on the test's clock)."""

    def __init__(self, table: Any, clock: Clock | None = None, query_s: float = 0.0) -> None:
        self._table = table
        self._clock = clock
        self._query_s = query_s
        self.queries = 0

    def query(self, **kwargs: Any) -> Any:
        self.queries += 1
        if self._clock is not None:
            self._clock.now += self._query_s
        return self._table.query(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)


def ledger_at(now: datetime, table: Any = None) -> FailureLedger:
    return FailureLedger(
        table or boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE_NAME"]),
        boto3.client("s3"),
        os.environ["LEDGER_BUCKET_NAME"],
        clock=lambda: now,
    )


def async_entry(number: int, occurred_at: datetime) -> LedgerEntry:
    return LedgerEntry(
        failure_id=f"async-{number:032x}",
        kind=FailureKind.ASYNC,
        condition="RetriesExhausted",
        function_name=FUNCTION,
        function_arn=ARN.format(FUNCTION),
        qualifier="$LATEST",
        occurred_at=occurred_at,
        recorded_at=NOW - timedelta(hours=1),
        payload={"n": number},
        has_payload=True,
    )


def ledger_redrive(
    raw: dict[str, Any], ledger: FailureLedger, *, deadline: Deadline | None = None, **options: Any
) -> RedriveReport:
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    return engine(allowed=allowed, ledger=ledger, **options).run(
        parse_redrive_request(raw, allowed), deadline=deadline or Deadline.after(600)
    )


def test_until_a_little_ahead_lists_the_week_before_now(aws: dict[str, Any]) -> None:
    ledger = ledger_at(NOW)
    ledger.record(async_entry(1, NOW - timedelta(days=6, hours=23)))
    invoked = FakeLambda()
    report = ledger_redrive(
        {
            "source": {"type": "ledger", "filter": {"kinds": ["async"], "until": "2026-11-22T08:00:00Z"}},
            "dry_run": False,
        },
        ledger,
        lambda_client=invoked,
    )
    assert (report.moved, invoked.payloads()) == (1, [{"n": 1}])


def test_the_requests_own_since_widens_the_days_the_ledger_lists(aws: dict[str, Any]) -> None:
    ledger = ledger_at(NOW)
    for number, days in ((1, 10), (2, 20), (3, 40)):
        ledger.record(async_entry(number, NOW - timedelta(days=days)))
    invoked = FakeLambda()
    report = ledger_redrive(
        {
            "source": {"type": "ledger", "filter": {"kinds": ["async"]}},
            "filter": {"since": (NOW - timedelta(days=25)).isoformat()},
            "dry_run": False,
        },
        ledger,
        lambda_client=invoked,
    )
    assert report.moved == 2
    assert sorted(p["n"] for p in invoked.payloads()) == [1, 2]


def test_a_since_far_back_reads_no_day_older_than_the_retention(aws: dict[str, Any]) -> None:
    table = CountingTable(boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE_NAME"]))
    ledger = ledger_at(NOW, table)
    ledger.record(async_entry(1, NOW - timedelta(days=30)))
    report = ledger_redrive(
        {"source": {"type": "ledger", "filter": {"kinds": ["async"], "since": "2015-01-01T00:00:00Z"}}},
        ledger,
    )
    assert report.would_move == 1
    assert table.queries <= 90 + 14 + 1  # the retention, the longest a record waits in a queue, today


def test_a_walk_over_empty_days_stops_at_the_deadline(aws: dict[str, Any]) -> None:
    clock = Clock()
    table = CountingTable(
        boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE_NAME"]), clock, query_s=1.0
    )
    report = ledger_redrive(
        {"source": {"type": "ledger", "filter": {"kinds": ["async"], "since": "2015-01-01T00:00:00Z"}}},
        ledger_at(NOW, table),
        clock=clock,
        deadline=Deadline.after(5, clock=clock),
    )
    assert clock.now <= 5
    assert report.status == "stopped"


def test_an_until_in_the_far_future_is_refused_up_front() -> None:
    with pytest.raises(RedriveRequestError, match="until is in the future"):
        parse_redrive_request(
            {"source": {"type": "ledger", "filter": {"kinds": ["async"], "until": "9999-12-31T00:00:00Z"}}},
            RedriveTargets(),
        )


def test_an_edited_ledger_cursor_is_rejected_not_a_crash(redrive_aws: dict[str, Any]) -> None:
    failure_ledger().record(async_entry(99, datetime.now(UTC)))
    selection = {"kinds": ["async"]}  # the day index: the cursor names the days it lists
    _, cursor = next(iter(failure_ledger().entries(LedgerFilter.model_validate(selection))))
    fingerprint, _, partition, key = json.loads(base64.urlsafe_b64decode(cursor))
    edited = base64.urlsafe_b64encode(
        json.dumps([fingerprint, "2026-02-30", partition, key]).encode()
    ).decode()
    response = handler_module("RedriveFunction").lambda_handler(
        {"source": {"type": "ledger", "filter": selection, "cursor": edited}}, FakeLambdaContext()
    )
    assert response["status"] == "rejected"
    assert any("cursor" in problem for problem in response["problems"])


def test_a_run_with_no_deadline_at_all_runs(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(1)])
    allowed = orders_allowed(source)
    request = parse_redrive_request(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "max_messages": 1}, allowed
    )
    report = engine(allowed=allowed).run(request, deadline=Deadline.never())
    assert report.would_move == 1


# ---------------------------------------------------------------- 8. what next_request leaves out


@pytest.mark.parametrize("by", ["filter", "ids"])
def test_next_request_goes_on_with_every_entry_the_rate_limit_kept_back(aws: dict[str, Any], by: str) -> None:
    ledger = ledger_at(NOW)
    entries = [async_entry(n, NOW - timedelta(hours=n)) for n in range(1, 9)]
    for entry in entries:
        ledger.record(entry)
    source: dict[str, Any] = (
        {"type": "ledger", "filter": {"function_name": FUNCTION}}
        if by == "filter"
        else {"type": "ledger", "failure_ids": [e.failure_id for e in entries]}
    )
    clock = Clock()
    invoked = FakeLambda()
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    first = engine(allowed=allowed, ledger=ledger, lambda_client=invoked, clock=clock, sleeps=None)
    first._sleep = clock.sleep
    report = first.run(
        parse_redrive_request(
            {"source": source, "dry_run": False, "rate_per_second": 1, "concurrency": 3}, allowed
        ),
        deadline=Deadline.after(4.5, clock=clock),
    )
    assert report.status == "stopped"
    assert report.next_request is not None
    assert report.failed == 0  # kept back, not failed
    second = ledger_redrive(report.next_request, ledger, lambda_client=invoked)
    assert sorted(p["n"] for p in invoked.payloads()) == list(range(1, 9))  # each exactly once
    assert second.status == "complete"


# ---------------------------------------------------------------- 9. the stop margin holds


def test_no_stream_processor_is_invoked_after_the_stop(aws: dict[str, Any]) -> None:
    ledger = failure_ledger()
    ids = [f"stream-{n:032x}" for n in range(40)]
    for failure_id in ids:
        ledger.record(stream_entry(failure_id))
    clock = Clock()

    def slow(call: dict[str, Any]) -> dict[str, Any]:
        clock.now += 25  # a processor that takes 25 s
        return {"batchItemFailures": []}

    allowed = RedriveTargets(functions=frozenset({"kinesis-orders-test"}))
    run = Redrive(
        sqs=boto3.client("sqs"),
        lambda_client=FakeLambda(slow),  # type: ignore[arg-type]
        ledger=ledger,
        targets=allowed,
        invoke_identity_arn=lambda: IDENTITY,
        wait_time_s=0,
        margin_s=30,
        clock=clock,
        sleep=clock.sleep,
    )
    report = run.run(
        # One worker: the fake clock adds up what parallel workers' processors would take at once.
        parse_redrive_request(
            {"source": {"type": "ledger", "failure_ids": ids}, "dry_run": False, "concurrency": 1}, allowed
        ),
        deadline=Deadline(899, clock=clock),
    )
    assert clock.now <= 899
    assert report.status == "stopped"
    assert report.next_request is not None
    assert report.moved + len(report.next_request["source"]["failure_ids"]) == 40


def test_a_destination_batch_of_stream_records_stops_between_invokes(queues: Queues) -> None:
    destination = queues.create("kinesis-failures")
    for number in range(10):
        record = {
            "requestContext": {
                "requestId": f"req-{number}",
                "functionArn": ARN.format("kinesis-orders-test"),
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": 4,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None},
            "version": "1.0",
            "timestamp": "2026-11-21T10:00:03.863Z",
            "KinesisBatchInfo": {
                "shardId": "shardId-000000000000",
                "startSequenceNumber": str(100 + number),
                "endSequenceNumber": str(100 + number),
                "approximateArrivalOfFirstRecord": "2026-11-21T10:00:01.427Z",
                "approximateArrivalOfLastRecord": "2026-11-21T10:00:01.427Z",
                "batchSize": 1,
                "streamArn": "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-test",
            },
        }
        queues.put(destination, [json.dumps(record)])
        failure_ledger().record(stream_entry(parse_failure(record).failure_id))
    clock = Clock()

    def slow(call: dict[str, Any]) -> None:
        clock.now += 25

    allowed = RedriveTargets(functions=frozenset({"kinesis-orders-test"}))
    run = Redrive(
        sqs=queues.sqs,
        lambda_client=FakeLambda(slow),  # type: ignore[arg-type]
        ledger=failure_ledger(),
        targets=allowed,
        invoke_identity_arn=lambda: IDENTITY,
        wait_time_s=0,
        margin_s=30,
        clock=clock,
        sleep=clock.sleep,
    )
    report = run.run(
        parse_redrive_request(
            # one worker: the fake clock adds up every worker's invokes, so one timeline
            {
                "source": {"type": "destination_queue", "queue_url": destination},
                "dry_run": False,
                "concurrency": 1,
            },
            allowed,
        ),
        deadline=Deadline(100, clock=clock),  # it stops taking work 10 s before: after the 4th invoke
    )
    assert clock.now <= 100
    assert report.moved == 4
    assert report.status == "stopped"
    assert len(queues.bodies(destination)) == 10 - report.moved  # the others are visible again


# ---------------------------------------------------------------- 10. suspected duplicates


def test_messages_sqs_parked_are_not_suspected_duplicates(queues: Queues) -> None:
    source = queues.create("orders-test")
    dlq = queues.create("orders-test-dlq", dlq_of=source)  # maxReceiveCount 3
    queues.put(source, [order(n) for n in range(4)])
    for _ in range(4):  # three failed receives each, then SQS parks them in the DLQ
        queues.sqs.receive_message(QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=0)
    parked = queues.sqs.receive_message(
        QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0, MessageSystemAttributeNames=["All"]
    )["Messages"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in parked} == {"4"}  # as SQS keeps them
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10},
        orders_allowed(source),
    )
    assert (report.moved, report.suspected_duplicates) == (4, 0)


# ---------------------------------------------------------------- 11. the event as AWS delivered it

EXACT_PAYLOAD = '{"amount": 1E2, "price": 19.990000000000000001, "k": 1, "k": 2, "huge": 1e400}'


def exact_record(request_id: str) -> str:
    record = invocation_record(1)
    record["requestContext"]["requestId"] = request_id
    del record["requestPayload"]
    text = json.dumps(record)
    return text[:-1] + ', "requestPayload": ' + EXACT_PAYLOAD + "}"


def test_a_destination_record_is_replayed_with_the_payload_text_aws_wrote(queues: Queues) -> None:
    destination = queues.create("order-events-failures")
    queues.put(destination, [exact_record("req-exact")])
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "destination_queue", "queue_url": destination}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
        lambda_client=invoked,
    )
    assert report.moved == 1
    assert invoked.calls[0]["Payload"] == EXACT_PAYLOAD.encode()


def test_a_ledger_entry_is_replayed_with_the_payload_text_aws_wrote(aws: dict[str, Any]) -> None:
    [consumed] = failure_consumer().consume(sqs_message(exact_record("req-exact-ledger")))
    assert consumed.failure_id is not None
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": [consumed.failure_id]}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
        lambda_client=invoked,
    )
    assert report.moved == 1
    assert invoked.calls[0]["Payload"] == EXACT_PAYLOAD.encode()


# ---------------------------------------------------------------- 12. the X-Ray trace header


def test_the_trace_header_goes_along(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    header = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
    queues.put(
        dlq,
        [order(1)],
        MessageSystemAttributes={"AWSTraceHeader": {"DataType": "String", "StringValue": header}},
    )
    sent: list[dict[str, Any]] = []

    def record(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "send_message_batch":
            sent.extend(kwargs["Entries"])
        return real()

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 1},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, record),
    )
    assert report.moved == 1
    assert [e["MessageSystemAttributes"] for e in sent] == [
        {"AWSTraceHeader": {"DataType": "String", "StringValue": header}}
    ]


# ---------------------------------------------------------------- 7 and 13. a run that breaks releases what it read


def test_ctrl_c_during_the_rate_limit_wait_releases_the_batch_in_hand(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(30)])
    allowed = orders_allowed(source)
    run = engine(allowed=allowed)

    def interrupted(seconds: float) -> None:
        raise KeyboardInterrupt

    run._sleep = interrupted
    with pytest.raises(KeyboardInterrupt):
        run.run(
            parse_redrive_request(
                {
                    "source": {"type": "sqs_dlq", "queue_url": dlq},
                    "dry_run": False,
                    "rate_per_second": 1,
                    "max_messages": 30,
                },
                allowed,
            ),
            deadline=Deadline.after(600),
        )
    assert len(queues.bodies(source)) + len(queues.bodies(dlq)) == 30  # none left invisible


def test_a_bug_while_deciding_releases_the_batch_it_was_deciding(
    queues: Queues, orders: tuple[str, str], mocker: Any
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(5)])
    mocker.patch(
        "lambda_failure_toolkit.redrive.request.MessageFilter.selects", side_effect=RuntimeError("a bug")
    )
    with pytest.raises(RuntimeError, match="a bug"):
        redrive(
            {"source": {"type": "sqs_dlq", "queue_url": dlq}, "filter": {"since": "2000-01-01T00:00:00Z"}},
            orders_allowed(source),
        )
    assert len(queues.bodies(dlq)) == 5


# ---------------------------------------------------------------- 6. a catastrophic regular expression


def test_a_catastrophic_error_message_pattern_stops_the_run_in_time(queues: Queues) -> None:
    dlq = queues.create("order-events-dlq")
    lambda_dlq_message(queues, dlq, order(1), "req-1", "a" * 26 + "!")
    started = time.monotonic()
    report = redrive(
        {
            "source": {"type": "lambda_dlq", "queue_url": dlq, "function": FUNCTION},
            "dry_run": False,
            "filter": {"error_message_pattern": "(a+)+$"},
        },
        RedriveTargets(functions=frozenset({FUNCTION})),
    )
    assert time.monotonic() - started < 4
    assert report.status == "stopped"
    assert report.stopped_because is not None
    assert "error_message_pattern" in report.stopped_because
    assert queues.bodies(dlq) == [order(1)]


# ---------------------------------------------------------------- 15. deep JSON

DEEP = '{"detail": ' + "[" * 300 + "1" + "]" * 300 + "}"


def test_a_lambda_dlq_body_nested_deep_is_redriven_byte_for_byte(queues: Queues) -> None:
    dlq = queues.create("order-events-dlq")
    lambda_dlq_message(queues, dlq, DEEP, "req-deep", "boom")
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "lambda_dlq", "queue_url": dlq, "function": FUNCTION}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
        lambda_client=invoked,
    )
    assert (report.moved, report.failed) == (1, 0)
    assert invoked.calls[0]["Payload"] == DEEP.encode()


def test_an_async_record_nested_deep_reaches_the_ledger_and_is_redriven(aws: dict[str, Any]) -> None:
    record = invocation_record(7)
    del record["requestPayload"]
    text = json.dumps(record)[:-1] + ', "requestPayload": ' + DEEP + "}"
    [consumed] = failure_consumer().consume(sqs_message(text))
    assert consumed.failure_id is not None
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": [consumed.failure_id]}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
        lambda_client=invoked,
    )
    assert report.moved == 1
    assert invoked.calls[0]["Payload"] == DEEP.encode()

"""The redrive engine against moto's SQS and DynamoDB (Lambda through a recording fake, the
StartMessageMoveTask path through botocore's Stubber): what moves, what stays, and what the report says."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.exceptions import ReadTimeoutError
from botocore.stub import Stubber

from lambda_failure_toolkit.failures import FailureKind, parse_failure
from lambda_failure_toolkit.ledger import LedgerEntry, LedgerFilter, RedriveStatus, RehydrationStatus
from lambda_failure_toolkit.ledger.wiring import failure_consumer, failure_ledger
from lambda_failure_toolkit.redrive import RedriveTargets, parse_redrive_request
from lambda_failure_toolkit.redrive.engine import Redrive, RedriveSourceError
from lambda_failure_toolkit.redrive.report import RedriveReport
from lambda_failure_toolkit.redrive.request import QUEUE_CONCURRENCY
from lambda_failure_toolkit.retry import Deadline
from tests.failure_queue import sqs_message
from tests.redrive_support import ARN, FakeLambda, FunctionFailed, Queues, Serialized, client_error
from tests.unit.redrive.test_fault_injection import FakeSqs

ACCOUNT = "123456789012"
FUNCTION = "order-events-test"
STREAM = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders-test"
IDENTITY = "arn:aws:iam::123456789012:role/redrive-test"


# ---------------------------------------------------------------- fixtures and helpers


def engine(
    *,
    sqs: Any = None,
    lambda_client: Any = None,
    allowed: RedriveTargets | None = None,
    restrict: bool = True,
    clock: Any = None,
    ledger: Any = "default",
    sleeps: list[float] | None = None,
) -> Redrive:
    options: dict[str, Any] = {}
    if clock is not None:
        options["clock"] = clock
    return Redrive(
        sqs=sqs or Serialized(boto3.client("sqs")),  # moto's SQS is not thread-safe; SQS is
        lambda_client=lambda_client or FakeLambda(),
        ledger=failure_ledger() if ledger == "default" else ledger,
        targets=allowed or RedriveTargets(),
        restrict_derived_targets=restrict,
        invoke_identity_arn=lambda: IDENTITY,
        wait_time_s=0,
        margin_s=1,
        sleep=(sleeps.append if sleeps is not None else lambda _: None),
        **options,
    )


def redrive(raw: dict[str, Any], allowed: RedriveTargets | None = None, **options: Any) -> RedriveReport:
    allowed = allowed or RedriveTargets()
    return engine(allowed=allowed, **options).run(
        parse_redrive_request(raw, allowed), deadline=Deadline.after(600)
    )


def orders_allowed(source: str) -> RedriveTargets:
    return RedriveTargets(queues=frozenset({source}), functions=frozenset({FUNCTION, "kinesis-orders-test"}))


def order(number: int, total: int = 1000) -> str:
    return json.dumps({"order_id": f"o-{number}", "total_cents": total})


# ---------------------------------------------------------------- SQS DLQ -> its source queue


def test_a_filtered_redrive_moves_the_selected_messages_and_leaves_the_rest_visible(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    big = [order(n, 5000) for n in range(12)]
    small = [order(n, 10) for n in range(12, 17)]
    queues.put(dlq, big + small, MessageAttributes={"tenant": {"DataType": "String", "StringValue": "acme"}})

    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "filter": {"payload_predicate": "total_cents > `1000`"},
        },
        orders_allowed(source),
    )

    assert (report.status, report.method, report.moved, report.skipped_by_filter, report.failed) == (
        "complete",
        "manual",
        12,
        5,
        0,
    )
    moved = queues.drain(source)
    assert sorted(m["Body"] for m in moved) == sorted(big)
    assert {m["MessageAttributes"]["tenant"]["StringValue"] for m in moved} == {"acme"}
    assert queues.bodies(dlq) == sorted(small)  # visible again at once, not after the visibility timeout
    assert [(g.target, g.count) for g in report.groups] == [("orders-test", 12)]


def test_a_dry_run_moves_nothing_and_reports_what_would_move(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(25)])
    report = redrive({"source": {"type": "sqs_dlq", "queue_url": dlq}}, orders_allowed(source))
    assert (report.dry_run, report.would_move, report.moved, report.status) == (True, 25, 0, "complete")
    assert report.message is not None
    assert "StartMessageMoveTask moves the whole DLQ" in report.message  # what a real run would do
    assert queues.bodies(source) == []
    assert len(queues.bodies(dlq)) == 25


def test_max_messages_moves_that_many_and_leaves_the_others(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(23)])
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 7},
        orders_allowed(source),
    )
    assert (report.moved, report.status, report.stopped_because) == (7, "complete", "max_messages")
    assert len(queues.bodies(source)) == 7
    assert len(queues.bodies(dlq)) == 16


def test_keep_source_copies_and_leaves_every_message_in_the_dlq(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    bodies = [order(n) for n in range(14)]
    queues.put(dlq, bodies)
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "keep_source": True,
            "filter": {"since": "2000-01-01T00:00:00Z"},
        },
        orders_allowed(source),
    )
    assert report.moved == 14
    assert queues.bodies(source) == sorted(bodies)
    assert queues.bodies(dlq) == sorted(bodies)


def test_concurrent_workers_move_every_message_exactly_once(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    bodies = [order(n) for n in range(120)]
    queues.put(dlq, bodies)
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "concurrency": 4,
            "filter": {"since": "2000-01-01T00:00:00Z"},
        },
        orders_allowed(source),
    )
    assert report.moved == 120
    assert queues.bodies(source) == sorted(bodies)
    assert queues.bodies(dlq) == []


def test_the_rate_limit_spaces_the_sends(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(30)])
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    allowed = orders_allowed(source)
    run = engine(allowed=allowed, clock=lambda: now[0])
    run._sleep = sleep  # the rate limit sleeps on the same clock
    report = run.run(
        parse_redrive_request(
            {
                "source": {"type": "sqs_dlq", "queue_url": dlq},
                "dry_run": False,
                "rate_per_second": 10,
                "filter": {"since": "2000-01-01T00:00:00Z"},
                "concurrency": 1,  # the fake clock would add up the waits of parallel workers
            },
            allowed,
        ),
        deadline=Deadline.after(600, clock=lambda: now[0]),
    )
    assert report.moved == 30
    # 30 messages at 10 a second: the last batch may start no earlier than 2 s after the first
    assert sum(sleeps) == pytest.approx(2.0)


def test_a_dlq_of_several_queues_needs_the_message_source_or_a_target(queues: Queues) -> None:
    first, second = queues.create("orders-a"), queues.create("orders-b")
    dlq = queues.create("shared-dlq", dlq_of=first)
    queues.sqs.set_queue_attributes(
        QueueUrl=second,
        Attributes={
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": queues.arn(dlq), "maxReceiveCount": 3})
        },
    )
    queues.put(dlq, [order(1)])
    allowed = RedriveTargets(queues=frozenset({first, second}))
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 5}, allowed
    )
    assert report.failed == 1
    assert report.failures[0].reason.startswith("no target: the DLQ's source queue is not known")
    assert queues.bodies(dlq) == [order(1)]  # (read and deleted here: sent again below)

    queues.put(dlq, [order(1)])
    named = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "target": {"queue_url": second},
            "dry_run": False,
            "max_messages": 5,
        },
        allowed,
    )
    assert named.moved == 1
    assert queues.bodies(second) == [order(1)]


def test_the_functions_redrive_refuses_a_source_queue_outside_the_allow_list(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(1)])
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 5},
        RedriveTargets(),
    )
    assert report.failed == 1
    assert report.failures[0].reason.startswith("target not allowed")
    assert queues.bodies(source) == []
    assert queues.bodies(dlq) == [order(1)]


def test_a_fifo_redrive_keeps_the_group_and_sets_a_stable_deduplication_id(queues: Queues) -> None:
    source = queues.create("orders-test.fifo", fifo=True)
    dlq = queues.create("orders-test-dlq.fifo", dlq_of=source, fifo=True)
    for number, group in [(1, "customer-1"), (2, "customer-2"), (3, "customer-1")]:
        queues.put(dlq, [order(number)], MessageGroupId=group, MessageDeduplicationId=f"d-{number}")
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "filter": {"since": "2000-01-01T00:00:00Z"},
        },
        orders_allowed(source),
    )
    assert report.moved == 3
    moved = queues.drain(source)
    by_group: dict[str, list[str]] = {}
    for message in moved:
        by_group.setdefault(message["Attributes"]["MessageGroupId"], []).append(
            json.loads(message["Body"])["order_id"]
        )
    assert by_group == {"customer-1": ["o-1", "o-3"], "customer-2": ["o-2"]}  # each group in its order
    assert all(m["Attributes"]["MessageDeduplicationId"].startswith("redrive-") for m in moved)


def test_a_fifo_target_without_a_group_needs_one(queues: Queues, orders: tuple[str, str]) -> None:
    _, dlq = orders
    fifo = queues.create("elsewhere.fifo", fifo=True)
    queues.put(dlq, [order(1)])
    allowed = RedriveTargets(queues=frozenset({fifo}))
    raw = {
        "source": {"type": "sqs_dlq", "queue_url": dlq},
        "target": {"queue_url": fifo},
        "dry_run": False,
        "max_messages": 1,
    }
    refused = redrive(raw, allowed)
    assert refused.failures[0].reason.startswith("no message group")
    grouped = redrive({**raw, "fifo_message_group_id": "redriven"}, allowed)
    assert grouped.moved == 1
    [moved] = queues.drain(fifo)
    assert moved["Attributes"]["MessageGroupId"] == "redriven"


# ---------------------------------------------------------------- failures at the target and the source


class Faulty:
    """The SQS client, with chosen calls answered by `fault(name, kwargs, call)` instead."""

    def __init__(self, client: Any, fault: Any) -> None:
        self._client = client
        self._fault = fault

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._client, name)

        def call(**kwargs: Any) -> Any:
            return self._fault(name, kwargs, lambda: real(**kwargs))

        return call


def test_an_entry_sqs_refuses_stays_in_the_dlq_and_the_others_move(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(5)])
    poison = order(2)

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "send_message_batch":
            keep = [e for e in kwargs["Entries"] if e["MessageBody"] != poison]
            bad = [e for e in kwargs["Entries"] if e["MessageBody"] == poison]
            response = (
                queues.sqs.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=keep) if keep else {}
            )
            response.setdefault("Successful", [])
            response["Failed"] = [
                {"Id": e["Id"], "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad"}
                for e in bad
            ]
            return response
        return real()

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    assert (report.moved, report.failed) == (4, 1)
    assert report.failures[0].reason == "InvalidMessageContents: bad"
    assert report.failure_reasons == {"InvalidMessageContents": 1}
    assert queues.bodies(dlq) == [poison]
    assert poison not in queues.bodies(source)


def test_throttled_and_partly_failed_sends_are_retried_until_accepted(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    bodies = [order(n) for n in range(10)]
    queues.put(dlq, bodies)
    calls = {"send_message_batch": 0}

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name != "send_message_batch":
            return real()
        calls[name] += 1
        if calls[name] == 1:
            raise client_error(
                "AWS.SimpleQueueService.RequestThrottled", status=400, operation="SendMessageBatch"
            )
        if calls[name] == 2:  # half accepted, half failed on SQS's side
            half = kwargs["Entries"][:5]
            response = queues.sqs.send_message_batch(QueueUrl=kwargs["QueueUrl"], Entries=half)
            response["Failed"] = [
                {"Id": e["Id"], "SenderFault": False, "Code": "InternalError", "Message": "try again"}
                for e in kwargs["Entries"][5:]
            ]
            return response
        return real()

    sleeps: list[float] = []
    report = redrive(  # one worker: the faults are scripted for one batch of ten, call by call
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "max_messages": 10,
            "concurrency": 1,
        },
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
        sleeps=sleeps,
    )
    assert (report.moved, report.failed, calls["send_message_batch"]) == (10, 0, 3)
    assert len(sleeps) == 2  # one backoff before each new attempt
    assert queues.bodies(source) == sorted(bodies)  # each exactly once
    assert queues.bodies(dlq) == []


def test_a_failed_delete_keeps_the_message_and_counts_a_duplicate(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(3)])

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "delete_message_batch":
            raise client_error("AccessDenied", "not allowed to delete", operation="DeleteMessageBatch")
        return real()

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 3},
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    assert (report.moved, report.suspected_duplicates) == (3, 3)
    assert len(queues.bodies(source)) == 3
    assert len(queues.bodies(dlq)) == 0  # invisible until their visibility timeout ends: then back


def test_it_stops_after_n_consecutive_target_failures(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(40)])

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "send_message_batch":
            raise client_error("KMS.AccessDeniedException", "key disabled", operation="SendMessageBatch")
        return real()

    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "stop_after_consecutive_failures": 10,
            "filter": {"since": "2000-01-01T00:00:00Z"},
            "concurrency": 1,  # one batch at a time: the stop comes exactly at the tenth
        },
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    assert report.status == "stopped"
    assert (
        report.stopped_because
        == "10 consecutive failures at the target (last: KMS.AccessDeniedException: key disabled)"
    )
    assert report.failed == 10
    assert report.next_request is not None
    assert len(queues.bodies(dlq)) == 40  # all of them, visible again


def test_it_stops_before_its_deadline_and_says_how_to_go_on(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(50)])
    now = [0.0]

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "receive_message":
            now[0] += 10  # each batch takes 10 s
        return real()

    allowed = orders_allowed(source)
    request = parse_redrive_request(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "filter": {"since": "2000-01-01T00:00:00Z"},
            "concurrency": 1,  # the fake clock adds up each worker's batches: one worker, one timeline
        },
        allowed,
    )
    report = engine(sqs=Faulty(queues.sqs, fault), allowed=allowed, clock=lambda: now[0]).run(
        request, deadline=Deadline.after(35, clock=lambda: now[0])
    )
    assert report.status == "stopped"
    assert report.stopped_because is not None
    assert report.stopped_because.startswith("the deadline")
    # batches taken at 0, 10, 20 and 30 s; at 40 s less than the 1 s margin is left
    assert report.moved == 40
    assert report.next_request == request.model_dump(mode="json", exclude_defaults=True)
    assert len(queues.bodies(source)) == 40
    assert len(queues.bodies(dlq)) == 10


def test_at_the_default_concurrency_the_failure_stop_comes_within_one_batch_a_worker(
    queues: Queues, orders: tuple[str, str]
) -> None:
    # Given a DLQ of 400 messages and a target that refuses every send
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(400)])

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "send_message_batch":
            raise client_error("KMS.AccessDeniedException", "key disabled", operation="SendMessageBatch")
        return real()

    # When it is redriven with the default workers, stopping after 10 consecutive failures
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "dry_run": False,
            "stop_after_consecutive_failures": 10,
            "filter": {"since": "2000-01-01T00:00:00Z"},
        },
        orders_allowed(source),
        sqs=Faulty(queues.sqs, fault),
    )
    # Then the run stops once the batches other workers had in hand have failed too, not later
    assert report.status == "stopped"
    assert 10 <= report.failed <= QUEUE_CONCURRENCY * 10 + 10 < 400
    # and every message is still in the DLQ
    assert len(queues.bodies(dlq)) == 400
    assert queues.bodies(source) == []


def test_what_a_run_holds_is_released_when_it_breaks_and_max_messages_goes_on_from_what_is_left(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(30)])
    calls = {"send_message_batch": 0}

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "send_message_batch":
            calls[name] += 1
            if calls[name] == 2:
                raise RuntimeError("a bug in the middle of a run")
        return real()

    allowed = orders_allowed(source)
    # One worker: with more, the others' batches would be sent or held when the bug strikes.
    raw = {
        "source": {"type": "sqs_dlq", "queue_url": dlq},
        "dry_run": False,
        "max_messages": 25,
        "concurrency": 1,
    }
    with pytest.raises(RuntimeError, match="a bug"):
        redrive(raw, allowed, sqs=Faulty(queues.sqs, fault))
    # The batch it was sending is visible again at once, not after the visibility timeout
    assert len(queues.bodies(source)) == 10
    assert len(queues.bodies(dlq)) == 20

    now = [0.0]

    def slow(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "receive_message":
            now[0] += 10
        return real()

    queues.put(dlq, [order(n) for n in range(30)])
    report = engine(sqs=Faulty(queues.sqs, slow), allowed=allowed, clock=lambda: now[0]).run(
        parse_redrive_request(raw, allowed), deadline=Deadline.after(5, clock=lambda: now[0])
    )
    assert report.moved == 10
    assert report.next_request is not None
    assert report.next_request["max_messages"] == 15  # 25 asked, 10 taken


def test_a_short_run_keeps_a_tenth_of_its_time_back(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(3)])
    allowed = orders_allowed(source)
    request = parse_redrive_request(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "max_messages": 3}, allowed
    )
    run = Redrive(sqs=queues.sqs, lambda_client=FakeLambda(), targets=allowed, wait_time_s=0)  # margin 30 s
    report = run.run(request, deadline=Deadline.after(20))
    assert report.would_move == 3


def test_a_move_task_sqs_did_not_answer_is_said_to_be_unknown(aws: dict[str, Any], mocker: Any) -> None:
    sqs = boto3.client("sqs")
    dlq = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders-dlq"
    target = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders"
    mocker.patch.object(
        sqs,
        "get_queue_attributes",
        return_value={"Attributes": {"QueueArn": "arn:aws:sqs:eu-west-1:123456789012:q"}},
    )
    mocker.patch.object(
        sqs, "start_message_move_task", side_effect=ReadTimeoutError(endpoint_url="https://sqs")
    )
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "target": {"queue_url": target}, "dry_run": False},
        RedriveTargets(queues=frozenset({target})),
        sqs=sqs,
    )
    assert report.status == "stopped"
    assert report.stopped_because is not None
    assert report.stopped_because.startswith("no answer from SQS")
    assert report.message is not None
    assert "may or may not have started" in report.message


def test_a_source_that_cannot_be_read_is_refused_before_anything_is_touched(aws: dict[str, Any]) -> None:
    missing = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/no-such-queue"
    with pytest.raises(RedriveSourceError, match=r"cannot read the queue .*no-such-queue"):
        redrive({"source": {"type": "sqs_dlq", "queue_url": missing}, "dry_run": False})


# ---------------------------------------------------------------- StartMessageMoveTask (Stubber)


def test_a_whole_dlq_is_handed_to_start_message_move_task(aws: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    dlq = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders-dlq"
    dlq_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders-dlq"
    source = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders"
    with Stubber(sqs) as stub:
        stub.add_response(
            "get_queue_attributes",
            {"Attributes": {"QueueArn": dlq_arn, "ApproximateNumberOfMessages": "1234"}},
            {"QueueUrl": dlq, "AttributeNames": ["QueueArn", "ApproximateNumberOfMessages"]},
        )
        stub.add_response("list_dead_letter_source_queues", {"queueUrls": [source]}, {"QueueUrl": dlq})
        stub.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {"SourceArn": dlq_arn, "MaxNumberOfMessagesPerSecond": 50},
        )
        report = redrive(
            {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "rate_per_second": 50},
            RedriveTargets(queues=frozenset({source})),
            sqs=sqs,
        )
        stub.assert_no_pending_responses()
    assert report.status == "move_task_started"
    assert report.move_task is not None
    assert (report.move_task.task_handle, report.move_task.approximate_messages) == ("handle-1", 1234)
    assert report.message is not None
    assert "list-message-move-tasks" in report.message


def test_a_move_task_sqs_refuses_is_reported_and_nothing_moves(aws: dict[str, Any]) -> None:
    sqs = boto3.client("sqs")
    dlq = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/orders-dlq"
    dlq_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:orders-dlq"
    target = f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/elsewhere"
    target_arn = f"arn:aws:sqs:eu-west-1:{ACCOUNT}:elsewhere"
    with Stubber(sqs) as stub:
        stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": dlq_arn}})
        stub.add_response("get_queue_attributes", {"Attributes": {"QueueArn": target_arn}})
        stub.add_client_error(
            "start_message_move_task",
            service_error_code="AWS.SimpleQueueService.UnsupportedOperation",
            service_message="A message movement task is already running on this queue",
            expected_params={"SourceArn": dlq_arn, "DestinationArn": target_arn},
        )
        report = redrive(
            {
                "source": {"type": "sqs_dlq", "queue_url": dlq},
                "target": {"queue_url": target},
                "dry_run": False,
            },
            RedriveTargets(queues=frozenset({target})),
            sqs=sqs,
        )
        stub.assert_no_pending_responses()
    assert report.status == "rejected"
    assert report.problems == (
        "AWS.SimpleQueueService.UnsupportedOperation: A message movement task is already running on this queue",
    )


def test_a_dlq_whose_sources_are_not_all_allowed_is_moved_by_hand_message_by_message(
    queues: Queues, orders: tuple[str, str]
) -> None:
    _, dlq = orders
    queues.put(dlq, [order(1)])
    # No move task (moto has none): the manual move checks the message's target, and refuses it
    report = redrive({"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False}, RedriveTargets())
    assert (report.method, report.failed) == ("manual", 1)


# ---------------------------------------------------------------- Lambda DLQ -> async re-invocation


def lambda_dlq_message(queues: Queues, dlq: str, body: str, request_id: str, error: str) -> None:
    queues.sqs.send_message(
        QueueUrl=dlq,
        MessageBody=body,
        MessageAttributes={
            "RequestID": {"DataType": "String", "StringValue": request_id},
            "ErrorCode": {"DataType": "Number", "StringValue": "200"},
            "ErrorMessage": {"DataType": "String", "StringValue": error},
        },
    )


def test_a_lambda_dlq_is_reinvoked_asynchronously_with_the_exact_body(queues: Queues) -> None:
    dlq = queues.create("order-events-dlq")
    exact = '{"detail": {"order_id": "o-1", "total_cents": 4599.50}, "note": "caf\\u00e9"}'
    lambda_dlq_message(queues, dlq, exact, "req-1", "inventory service returned 503")
    lambda_dlq_message(queues, dlq, order(2), "req-2", "ValidationError: total is negative")
    invoked = FakeLambda()
    report = redrive(
        {
            "source": {"type": "lambda_dlq", "queue_url": dlq, "function": f"{FUNCTION}:live"},
            "dry_run": False,
            "filter": {"error_message_pattern": "503$"},
        },
        RedriveTargets(functions=frozenset({FUNCTION})),
        lambda_client=invoked,
    )
    assert (report.moved, report.skipped_by_filter) == (1, 1)
    assert invoked.calls == [
        {"FunctionName": f"{FUNCTION}:live", "InvocationType": "Event", "Payload": exact.encode()}
    ]
    assert queues.bodies(dlq) == [order(2)]


def test_a_throttled_invoke_is_retried_and_a_missing_function_keeps_the_message(queues: Queues) -> None:
    dlq = queues.create("order-events-dlq")
    lambda_dlq_message(queues, dlq, order(1), "req-1", "boom")
    attempts = []

    def throttled_once(call: dict[str, Any]) -> None:
        attempts.append(call)
        if len(attempts) == 1:
            raise client_error("TooManyRequestsException", "Rate exceeded", status=429)

    allowed = RedriveTargets(functions=frozenset({FUNCTION, "gone"}))
    raw = {"source": {"type": "lambda_dlq", "queue_url": dlq, "function": FUNCTION}, "dry_run": False}
    throttled = redrive(raw, allowed, lambda_client=FakeLambda(throttled_once))
    assert (throttled.moved, len(attempts)) == (1, 2)

    lambda_dlq_message(queues, dlq, order(2), "req-2", "boom")

    def missing(call: dict[str, Any]) -> None:
        raise client_error("ResourceNotFoundException", "Function not found: gone", status=404)

    gone = redrive({**raw, "target": {"function": "gone"}}, allowed, lambda_client=FakeLambda(missing))
    assert (gone.moved, gone.failed) == (0, 1)
    assert gone.failures[0].reason == "ResourceNotFoundException: Function not found: gone"
    assert queues.bodies(dlq) == [order(2)]


def test_a_message_that_is_not_a_lambda_dlq_message_stays_with_the_reason(queues: Queues) -> None:
    dlq = queues.create("order-events-dlq")
    queues.put(dlq, ["not json, no attributes"])
    report = redrive(
        {"source": {"type": "lambda_dlq", "queue_url": dlq, "function": FUNCTION}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
    )
    assert report.failed == 1
    assert report.failures[0].reason.startswith("not a failure record")
    assert queues.bodies(dlq) == ["not json, no attributes"]


# ---------------------------------------------------------------- destination queue -> the function in the record


def invocation_record(
    number: int, *, condition: str = "RetriesExhausted", qualifier: str = "$LATEST"
) -> dict[str, Any]:
    return {
        "version": "1.0",
        "timestamp": "2026-11-21T09:00:00.000Z",
        "requestContext": {
            "requestId": f"req-{number}",
            "functionArn": f"{ARN.format(FUNCTION)}:{qualifier}",
            "condition": condition,
            "approximateInvokeCount": 3,
        },
        "requestPayload": {"detail": {"order_id": f"o-{number}", "amount": 0.1}},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorType": "InventoryUnavailableError", "errorMessage": "503"},
    }


def test_a_destination_record_reinvokes_its_function_and_qualifier_with_the_request_payload(
    queues: Queues,
) -> None:
    destination = queues.create("order-events-failures")
    queues.put(destination, [json.dumps(invocation_record(1, qualifier="live"))])
    success = invocation_record(2, condition="Success")
    queues.put(destination, [json.dumps(success)])
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "destination_queue", "queue_url": destination}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
        lambda_client=invoked,
    )
    assert (report.moved, report.skipped_by_filter) == (1, 1)
    [call] = invoked.calls
    assert (call["FunctionName"], call["Qualifier"], call["InvocationType"]) == (
        ARN.format(FUNCTION),
        "live",
        "Event",
    )
    assert json.loads(call["Payload"]) == {"detail": {"order_id": "o-1", "amount": 0.1}}
    assert [(g.function, g.condition, g.error_type, g.count) for g in report.groups] == [
        (FUNCTION, "RetriesExhausted", "InventoryUnavailableError", 1)
    ]
    assert queues.bodies(destination) == [json.dumps(success)]


def test_a_record_without_its_payload_cannot_be_replayed_and_stays(queues: Queues) -> None:
    destination = queues.create("order-events-failures")
    record = invocation_record(1, condition="ZeroReservedConcurrency")
    del record["requestPayload"], record["responseContext"], record["responsePayload"]
    queues.put(destination, [json.dumps(record)])
    report = redrive(
        {"source": {"type": "destination_queue", "queue_url": destination}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
    )
    assert report.failures[0].reason.startswith("no payload")
    assert len(queues.bodies(destination)) == 1


def test_a_forged_record_naming_another_function_is_refused_by_the_allow_list(queues: Queues) -> None:
    destination = queues.create("order-events-failures")
    queues.put(destination, [json.dumps(invocation_record(1))])
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "destination_queue", "queue_url": destination}, "dry_run": False},
        RedriveTargets(functions=frozenset({"something-else"})),
        lambda_client=invoked,
    )
    assert invoked.calls == []
    assert report.failures[0].reason == f"target not allowed: {ARN.format(FUNCTION)} is not in the allow-list"


def stream_entry(failure_id: str, *, status: RehydrationStatus = RehydrationStatus.COMPLETE) -> LedgerEntry:
    records = (
        {
            "eventSource": "aws:kinesis",
            "eventVersion": "1.0",
            "eventID": f"shardId-000000000000:{n}",
            "eventName": "aws:kinesis:record",
            "awsRegion": "eu-west-1",
            "eventSourceARN": STREAM,
            "kinesis": {
                "kinesisSchemaVersion": "1.0",
                "partitionKey": "o-1",
                "sequenceNumber": str(n),
                "data": base64.b64encode(order(n).encode()).decode(),
                "approximateArrivalTimestamp": 1795000000.5,
            },
        }
        for n in (101, 102)
    )
    now = datetime(2026, 11, 21, 10, tzinfo=UTC)
    return LedgerEntry(
        failure_id=failure_id,
        kind=FailureKind.STREAM,
        condition="RetryAttemptsExhausted",
        function_name="kinesis-orders-test",
        function_arn=ARN.format("kinesis-orders-test"),
        qualifier="$LATEST",
        source_arn=STREAM,
        occurred_at=now,
        recorded_at=now,
        rehydration_status=status,
        records=records if status is RehydrationStatus.COMPLETE else (),
        rehydration_reason=None if status is RehydrationStatus.COMPLETE else "past the stream's retention",
    )


def test_a_stream_failure_is_sent_to_its_processor_as_a_batch_and_marked_redriven(
    aws: dict[str, Any],
) -> None:
    ledger = failure_ledger()
    ledger.record(stream_entry("stream-" + "1" * 32))
    processor = FakeLambda(lambda call: {"batchItemFailures": []})
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": ["stream-" + "1" * 32]}, "dry_run": False},
        RedriveTargets(functions=frozenset({"kinesis-orders-test"})),
        lambda_client=processor,
    )
    assert report.moved == 1
    [call] = processor.calls
    assert (call["InvocationType"], call["Qualifier"]) == ("RequestResponse", "$LATEST")
    event = json.loads(call["Payload"])
    assert [r["kinesis"]["sequenceNumber"] for r in event["Records"]] == ["101", "102"]
    assert {r["invokeIdentityArn"] for r in event["Records"]} == {IDENTITY}  # filled in, as Lambda would
    entry = ledger.get("stream-" + "1" * 32)
    assert (entry.redrive_status, entry.redrive_count) == (RedriveStatus.REDRIVEN, 1)


def test_a_processor_that_fails_again_leaves_the_entry_pending(aws: dict[str, Any]) -> None:
    ledger = failure_ledger()
    ledger.record(stream_entry("stream-" + "2" * 32))
    ledger.record(stream_entry("stream-" + "3" * 32))
    answers = iter([{"batchItemFailures": [{"itemIdentifier": "102"}]}, FunctionFailed("still broken")])
    report = redrive(
        {
            "source": {"type": "ledger", "failure_ids": ["stream-" + "2" * 32, "stream-" + "3" * 32]},
            "dry_run": False,
        },
        RedriveTargets(functions=frozenset({"kinesis-orders-test"})),
        lambda_client=FakeLambda(lambda call: next(answers)),
    )
    assert report.failed == 2
    assert sorted(f.reason for f in report.failures) == [  # in the order the workers finished
        "the processor failed (Unhandled): still broken",
        "the processor reported 1 record(s) failed again (first: 102)",
    ]
    assert ledger.get("stream-" + "2" * 32).redrive_status is RedriveStatus.PENDING
    assert ledger.get("stream-" + "3" * 32).redrive_status is RedriveStatus.PENDING


def test_a_stream_failure_whose_records_were_not_read_back_cannot_be_redriven(aws: dict[str, Any]) -> None:
    failure_ledger().record(stream_entry("stream-" + "4" * 32, status=RehydrationStatus.EXPIRED))
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": ["stream-" + "4" * 32]}, "dry_run": False},
        RedriveTargets(functions=frozenset({"kinesis-orders-test"})),
    )
    assert (
        report.failures[0].reason
        == "no records: the stream's records were not read back (expired: past the stream's retention)"
    )


def test_a_stream_record_in_a_destination_queue_is_redriven_from_its_ledger_entry(queues: Queues) -> None:
    on_failure = {
        "requestContext": {
            "requestId": "c9b8a7d6",
            "functionArn": ARN.format("kinesis-orders-test"),
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 4,
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": None},
        "version": "1.0",
        "timestamp": "2026-11-21T10:00:03.863Z",
        "KinesisBatchInfo": {
            "shardId": "shardId-000000000000",
            "startSequenceNumber": "101",
            "endSequenceNumber": "102",
            "approximateArrivalOfFirstRecord": "2026-11-21T10:00:01.427Z",
            "approximateArrivalOfLastRecord": "2026-11-21T10:00:01.427Z",
            "batchSize": 2,
            "streamArn": STREAM,
        },
    }
    destination = queues.create("kinesis-failures")
    queues.put(destination, [json.dumps(on_failure)])
    allowed = RedriveTargets(functions=frozenset({"kinesis-orders-test"}))
    raw = {"source": {"type": "destination_queue", "queue_url": destination}, "dry_run": False}

    not_yet = redrive(raw, allowed)
    assert not_yet.failures[0].reason.startswith("a stream failure not in the ledger")

    failure_id = parse_failure(on_failure).failure_id
    failure_ledger().record(stream_entry(failure_id))
    processor = FakeLambda(lambda call: None)  # a processor that returns nothing: all done
    redriven = redrive(raw, allowed, lambda_client=processor)
    assert redriven.moved == 1
    assert len(processor.calls) == 1
    assert failure_ledger().get(failure_id).redrive_status is RedriveStatus.REDRIVEN
    assert queues.bodies(destination) == []


# ---------------------------------------------------------------- the ledger, by id and by filter


def record_async_failures(
    count: int, *, function: str = FUNCTION, error_type: str = "InventoryUnavailableError"
) -> list[str]:
    ids = []
    for number in range(count):
        record = invocation_record(number)
        record["requestContext"]["requestId"] = f"{function}-{error_type}-{number}"
        record["requestContext"]["functionArn"] = f"{ARN.format(function)}:$LATEST"
        record["timestamp"] = f"2026-11-21T09:{number // 60:02d}:{number % 60:02d}.000Z"
        record["responsePayload"]["errorType"] = error_type
        failure_consumer().consume(sqs_message(json.dumps(record)))
        ids.append(parse_failure(record).failure_id)
    return ids


def test_ledger_entries_by_filter_are_reinvoked_marked_and_grouped(aws: dict[str, Any]) -> None:
    retried = record_async_failures(4)
    other = record_async_failures(2, error_type="ValidationError")
    invoked = FakeLambda()
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    dry = redrive(
        {
            "source": {
                "type": "ledger",
                "filter": {"function_name": FUNCTION, "since": "2026-11-21T00:00:00Z"},
            }
        },
        allowed,
        lambda_client=invoked,
    )
    assert (dry.would_move, invoked.calls) == (6, [])
    assert sorted((g.error_type, g.count) for g in dry.groups) == [
        ("InventoryUnavailableError", 4),
        ("ValidationError", 2),
    ]

    report = redrive(
        {
            "source": {
                "type": "ledger",
                "filter": {
                    "function_name": FUNCTION,
                    "error_types": ["InventoryUnavailableError"],
                    "since": "2026-11-21T00:00:00Z",
                },
            },
            "dry_run": False,
            "concurrency": 3,
        },
        allowed,
        lambda_client=invoked,
    )
    assert report.moved == 4
    assert sorted(json.loads(c["Payload"])["detail"]["order_id"] for c in invoked.calls) == [
        "o-0",
        "o-1",
        "o-2",
        "o-3",
    ]
    ledger = failure_ledger()
    assert {ledger.get(i).redrive_status for i in retried} == {RedriveStatus.REDRIVEN}
    assert {ledger.get(i).redrive_status for i in other} == {RedriveStatus.PENDING}
    pending = ledger.list(
        LedgerFilter(
            function_name=FUNCTION,
            redrive_status=RedriveStatus.PENDING,
            since=datetime(2026, 11, 21, tzinfo=UTC),
        )
    )
    assert sorted(e.failure_id for e in pending.entries) == sorted(other)


def test_a_ledger_redrive_stopped_by_its_deadline_goes_on_exactly_where_it_stopped(
    aws: dict[str, Any],
) -> None:
    ids = record_async_failures(9)
    now = [0.0]

    def slow(call: dict[str, Any]) -> None:
        now[0] += 10

    invoked = FakeLambda(slow)
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    raw = {
        "source": {"type": "ledger", "filter": {"function_name": FUNCTION, "since": "2026-11-21T00:00:00Z"}},
        "dry_run": False,
    }
    first = engine(allowed=allowed, lambda_client=invoked, clock=lambda: now[0]).run(
        parse_redrive_request(raw, allowed), deadline=Deadline.after(41, clock=lambda: now[0])
    )
    assert first.status == "stopped"
    assert first.next_request is not None
    assert 0 < first.moved < 9
    second = redrive(first.next_request, allowed, lambda_client=invoked)
    assert second.status == "complete"
    assert first.moved + second.moved == 9
    orders_invoked = [json.loads(c["Payload"])["detail"]["order_id"] for c in invoked.calls]
    assert sorted(orders_invoked) == sorted(f"o-{n}" for n in range(9))  # each exactly once
    assert len(ids) == 9


def test_a_ledger_dlq_entry_needs_a_target_function(aws: dict[str, Any]) -> None:
    message = sqs_message(order(1))
    message["messageAttributes"] = {
        "RequestID": {"dataType": "String", "stringValue": "req-dlq-1"},
        "ErrorCode": {"dataType": "Number", "stringValue": "200"},
        "ErrorMessage": {"dataType": "String", "stringValue": "boom"},
    }
    [consumed] = failure_consumer().consume(message)
    failure_id = consumed.failure_id
    assert failure_id is not None
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    raw: dict[str, Any] = {"source": {"type": "ledger", "failure_ids": [failure_id]}, "dry_run": False}
    refused = redrive(raw, allowed)
    assert refused.failures[0].reason.startswith("no target: a Lambda DLQ message does not name")
    invoked = FakeLambda()
    named = redrive({**raw, "target": {"function": FUNCTION}}, allowed, lambda_client=invoked)
    assert named.moved == 1
    # The ledger keeps the event as JSON: it is sent again equal to what failed
    assert json.loads(invoked.calls[0]["Payload"]) == json.loads(order(1))


def test_an_unknown_failure_id_is_reported_not_fatal(aws: dict[str, Any]) -> None:
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": ["async-" + "0" * 32]}, "dry_run": False},
        RedriveTargets(functions=frozenset({FUNCTION})),
    )
    assert report.failed == 1
    assert "no ledger entry" in report.failures[0].reason


def test_every_run_is_audited_with_who_asked_and_how_many(
    queues: Queues, orders: tuple[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(1)])
    caplog.set_level("INFO", logger="lambda_failure_toolkit.redrive.engine")
    report = redrive(
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq},
            "requested_by": "arn:aws:sts::123456789012:assumed-role/oncall/alice",
        },
        orders_allowed(source),
    )
    requested, finished = [
        r for r in caplog.records if r.message in {"redrive requested", "redrive finished"}
    ]
    assert (
        requested.requested_by
        == finished.requested_by
        == "arn:aws:sts::123456789012:assumed-role/oncall/alice"
    )  # type: ignore[attr-defined]
    assert requested.request["source"]["queue_url"] == dlq  # type: ignore[attr-defined]
    assert finished.report["would_move"] == 1  # type: ignore[attr-defined]
    assert finished.run_id == report.run_id  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the fault-injection queue, checked


def test_the_fault_injection_queue_answers_as_moto_does(queues: Queues) -> None:
    """The in-memory SQS of tests/unit/redrive/test_fault_injection.py, against moto, call by call."""

    def scenario(sqs: Any, url: str) -> list[Any]:
        seen: list[Any] = []
        first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=30)["Messages"]
        second = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30)["Messages"]
        seen.append(sorted(m["Body"] for m in first))
        seen.append(sorted(m["Body"] for m in second))
        seen.append(
            sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get(
                "Messages", []
            )
        )
        sent = sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "d"}])
        seen.append([entry["Id"] for entry in sent["Successful"]])
        deleted = sqs.delete_message_batch(
            QueueUrl=url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(first)],
        )
        seen.append(sorted(entry["Id"] for entry in deleted["Successful"]))
        released = sqs.change_message_visibility_batch(
            QueueUrl=url,
            Entries=[{"Id": "0", "ReceiptHandle": second[0]["ReceiptHandle"], "VisibilityTimeout": 0}],
        )
        seen.append([entry["Id"] for entry in released["Successful"]])
        again = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, MessageSystemAttributeNames=["All"]
        )
        seen.append(
            sorted((m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in again["Messages"])
        )
        return seen

    moto_url = queues.create("contract")
    for body in "abc":
        queues.put(moto_url, [body])
    fake = FakeSqs([0.0])
    fake_url = fake.create("contract")
    for body in "abc":
        fake.put(fake_url, body)
    assert scenario(fake, fake_url) == scenario(queues.sqs, moto_url)


def test_a_dlq_whose_sources_cannot_be_listed_still_moves_to_a_named_target(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    queues.put(dlq, [order(n) for n in range(3)])

    def fault(name: str, kwargs: dict[str, Any], real: Any) -> Any:
        if name == "list_dead_letter_source_queues":
            raise client_error("AccessDenied", "not allowed", operation="ListDeadLetterSourceQueues")
        return real()

    allowed = orders_allowed(source)
    raw = {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 3}
    unnamed = redrive(raw, allowed, sqs=Faulty(queues.sqs, fault))
    assert (unnamed.moved, unnamed.failed) == (0, 3)
    assert unnamed.failures[0].reason.startswith("no target")
    named = redrive({**raw, "target": {"queue_url": source}}, allowed, sqs=Faulty(queues.sqs, fault))
    assert named.moved == 3
    assert len(queues.bodies(source)) == 3

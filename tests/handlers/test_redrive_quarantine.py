"""Replay counts and quarantine (`max_replays`, `quarantine_queue_url`): a poison failure cannot loop
between a DLQ and its queue, or be invoked from the ledger, forever."""

import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import LedgerEntry, RedriveStatus
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.replays import REPLAYS_ATTRIBUTE
from lambda_failure_toolkit.redrive.report import RedriveReport
from lambda_failure_toolkit.redrive.request import RedriveRequestError, parse_redrive_request
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from tests.redrive_support import ARN, FakeLambda, Queues

FUNCTION = "order-events-test"


def redrive(raw: dict[str, Any], allowed: RedriveTargets, lambda_client: Any = None) -> RedriveReport:
    return Redrive(
        sqs=boto3.client("sqs"),
        lambda_client=lambda_client or FakeLambda(),
        ledger=failure_ledger(),
        targets=allowed,
        wait_time_s=0,
    ).run(parse_redrive_request(raw | {"dry_run": raw.get("dry_run", False)}, allowed))


def replays(message: dict[str, Any]) -> dict[str, Any]:
    return json.loads(message["MessageAttributes"][REPLAYS_ATTRIBUTE]["StringValue"])


def fail_again(queues: Queues, source: str, dlq: str) -> None:
    """The consumer fails every message until SQS dead-letters it: back in the DLQ with its attributes."""
    for message in queues.drain(source):
        queues.put(dlq, [message["Body"]], MessageAttributes=message.get("MessageAttributes", {}))


# ---------------------------------------------------------------- SQS: the count rides on the message


def test_each_replay_is_counted_on_the_message_and_past_max_replays_it_goes_to_quarantine(
    queues: Queues, orders: tuple[str, str]
) -> None:
    # Given a poison order in the DLQ, a quarantine queue, and a request allowing two replays
    source, dlq = orders
    quarantine = queues.create("orders-test-quarantine")
    queues.put(dlq, ['{"order_id": "poison"}'])
    allowed = RedriveTargets(queues=frozenset({queues.arn(source), queues.arn(quarantine)}))
    request = {
        "source": {"type": "sqs_dlq", "queue_url": dlq},
        "max_messages": 10,
        "max_replays": 2,
        "quarantine_queue_url": quarantine,
    }

    # When it is redriven, fails again, twice
    counts = []
    for _ in range(2):
        assert redrive(request, allowed).moved == 1
        [moved] = queues.sqs.receive_message(QueueUrl=source, MessageAttributeNames=["All"])["Messages"]
        counts.append(replays(moved)["count"])
        queues.sqs.change_message_visibility(
            QueueUrl=source, ReceiptHandle=moved["ReceiptHandle"], VisibilityTimeout=0
        )
        fail_again(queues, source, dlq)

    # Then each copy carried its count and when, and the third redrive quarantines it instead
    assert counts == [1, 2]
    report = redrive(request, allowed)
    assert (report.moved, report.quarantined, report.failed) == (0, 1, 0)
    assert queues.drain(source) == []
    assert queues.drain(dlq) == []
    [held] = queues.drain(quarantine)
    assert held["Body"] == '{"order_id": "poison"}'
    assert replays(held)["count"] == 2
    assert datetime.fromisoformat(replays(held)["last_at"]) > datetime.now(UTC) - timedelta(minutes=1)


def test_without_a_quarantine_queue_the_message_stays_in_its_dlq(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    attribute = {REPLAYS_ATTRIBUTE: {"DataType": "String", "StringValue": '{"count": 3, "last_at": "x"}'}}
    queues.put(dlq, ['{"order_id": "poison"}'], MessageAttributes=attribute)
    queues.put(dlq, ['{"order_id": "fine"}'])
    allowed = RedriveTargets(queues=frozenset({queues.arn(source)}))

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "max_messages": 10, "max_replays": 3}, allowed
    )

    assert (report.moved, report.quarantined, report.failed) == (1, 1, 0)
    assert queues.bodies(source) == ['{"order_id": "fine"}']
    assert queues.bodies(dlq) == ['{"order_id": "poison"}']


def test_a_message_with_ten_attributes_is_moved_without_a_count(
    queues: Queues, orders: tuple[str, str]
) -> None:
    source, dlq = orders
    ten = {f"a{n}": {"DataType": "String", "StringValue": str(n)} for n in range(10)}
    queues.put(dlq, ['{"order_id": "o-1"}'], MessageAttributes=ten)
    allowed = RedriveTargets(queues=frozenset({queues.arn(source)}))
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "max_messages": 10, "max_replays": 3}, allowed
    )
    assert report.moved == 1
    [moved] = queues.drain(source)
    assert set(moved["MessageAttributes"]) == set(ten)


# ---------------------------------------------------------------- the ledger: the entry's redrive_count


def record(number: int, redriven: int) -> str:
    ledger = failure_ledger()
    entry = LedgerEntry(
        failure_id=f"async-{number:032x}",
        kind=FailureKind.ASYNC,
        condition="RetriesExhausted",
        function_name=FUNCTION,
        function_arn=ARN.format(FUNCTION),
        occurred_at=datetime.now(UTC) - timedelta(minutes=number),
        recorded_at=datetime.now(UTC),
        payload={"order_id": f"o-{number}"},
        has_payload=True,
    )
    ledger.record(entry)
    for _ in range(redriven):
        ledger.mark_redriven(entry.failure_id)
    return entry.failure_id


def test_an_entry_past_max_replays_is_quarantined_not_replayed(aws: dict[str, Any]) -> None:
    # Given an entry replayed three times already, and one never replayed
    poison, fresh = record(1, redriven=3), record(2, redriven=0)
    invoked = FakeLambda()
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    by_filter = {"source": {"type": "ledger", "filter": {"function_name": FUNCTION}}, "max_replays": 3}

    # When both are redriven with max_replays 3
    report = redrive(by_filter, allowed, invoked)

    # Then only the fresh one was invoked; the other is marked quarantined, and reported so
    assert [json.loads(call["Payload"]) for call in invoked.calls] == [{"order_id": "o-2"}]
    assert (report.moved, report.quarantined, report.failed) == (1, 1, 0)
    ledger = failure_ledger()
    assert ledger.get(poison).redrive_status is RedriveStatus.QUARANTINED
    assert ledger.get(poison).redrive_count == 3
    assert ledger.get(fresh).redrive_status is RedriveStatus.REDRIVEN

    # And a later redrive by filter, even without max_replays, leaves it alone
    again = redrive({"source": {"type": "ledger", "filter": {"function_name": FUNCTION}}}, allowed, invoked)
    assert again.quarantined == 1
    assert len(invoked.calls) == 2  # the fresh one, once more
    # but naming it by id, or selecting the quarantined, is the operator's decision to replay it all the same
    selected = {"function_name": FUNCTION, "redrive_status": "quarantined"}
    dry = redrive({"source": {"type": "ledger", "filter": selected}, "dry_run": True}, allowed, invoked)
    assert (dry.would_move, dry.quarantined) == (1, 0)
    named = redrive({"source": {"type": "ledger", "failure_ids": [poison]}}, allowed, invoked)
    assert named.moved == 1


def test_a_dry_run_says_what_it_would_quarantine_and_marks_nothing(aws: dict[str, Any]) -> None:
    poison = record(1, redriven=2)
    allowed = RedriveTargets(functions=frozenset({FUNCTION}))
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": [poison]}, "max_replays": 2, "dry_run": True}, allowed
    )
    assert (report.would_move, report.quarantined) == (0, 1)
    assert failure_ledger().get(poison).redrive_status is RedriveStatus.REDRIVEN
    # and dlq failures lists quarantined entries by that status (after a real run)
    redrive({"source": {"type": "ledger", "failure_ids": [poison]}, "max_replays": 2}, allowed)
    out, err = io.StringIO(), io.StringIO()
    assert main(["failures", "--status", "quarantined", "--json"], out=out, err=err) == 0
    assert [e["failure_id"] for e in json.loads(out.getvalue())["entries"]] == [poison]


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        ({"quarantine_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/q"}, "give max_replays"),
        ({"max_replays": 0}, "max_replays: Input should be greater than or equal to 1"),
        (
            {
                "max_replays": 1,
                "quarantine_queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/other",
            },
            "quarantine_queue_url https://sqs.eu-west-1.amazonaws.com/123456789012/other is not in the allow-list",
        ),
    ],
)
def test_bad_quarantine_requests_are_refused(request_: dict[str, Any], says: str) -> None:
    raw = {"source": {"type": "sqs_dlq", "queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq"}}
    with pytest.raises(RedriveRequestError) as refused:
        parse_redrive_request(raw | request_, RedriveTargets())
    assert says in str(refused.value)


def test_max_replays_is_refused_where_it_cannot_be_counted() -> None:
    raw = {
        "source": {
            "type": "lambda_dlq",
            "queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq",
            "function": FUNCTION,
        },
        "max_replays": 2,
    }
    with pytest.raises(RedriveRequestError, match="redrive these failures from the ledger to count them"):
        parse_redrive_request(raw, RedriveTargets())


def test_the_command_line_takes_the_quarantine_queue(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    quarantine = queues.create("orders-test-quarantine")
    attribute = {REPLAYS_ATTRIBUTE: {"DataType": "String", "StringValue": '{"count": 1, "last_at": "x"}'}}
    queues.put(dlq, ['{"order_id": "poison"}'], MessageAttributes=attribute)
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--max-messages", "10", "--execute",
         "--max-replays", "1", "--quarantine-queue-url", quarantine],
        out=out, err=err,
    )  # fmt: skip
    assert code == 0, err.getvalue()
    rows = {line.split("  ")[0]: line.split()[-1] for line in out.getvalue().splitlines() if "  " in line}
    assert (rows["quarantined"], rows["moved"]) == ("1", "0")
    assert queues.bodies(quarantine) == ['{"order_id": "poison"}']
    assert queues.bodies(source) == []

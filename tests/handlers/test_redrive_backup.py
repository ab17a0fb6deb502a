"""`dlq redrive --backup DIR`: every message a real run moves is written, with its attributes, before it
is sent; a backup that cannot be written sends nothing."""

import io
import json
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import LedgerEntry
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from lambda_failure_toolkit.redrive.backup import JsonLinesBackup
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.request import parse_redrive_request
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from lambda_failure_toolkit.redrive.work import Work
from tests.redrive_support import ARN, FakeLambda, Queues

quick_engine = partial(Redrive, wait_time_s=0)
ATTRIBUTES = {"tenant": {"DataType": "String", "StringValue": "acme"}}


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, engine_factory=quick_engine)
    return code, out.getvalue(), err.getvalue()


def lines(directory: Path) -> list[dict[str, Any]]:
    [file] = directory.glob("dlq-backup-*.jsonl")
    return [json.loads(line) for line in file.read_text().splitlines()]


def test_the_backup_holds_exactly_what_was_then_moved(
    queues: Queues, orders: tuple[str, str], tmp_path: Path
) -> None:
    # Given a DLQ of three orders with a message attribute, of which a filter selects two
    source, dlq = orders
    queues.put(
        dlq,
        [json.dumps({"order_id": f"o-{n}", "retry": n != 2}) for n in range(3)],
        MessageAttributes=ATTRIBUTES,
    )

    # When a real run with a backup moves those two
    code, _, err = run(
        "redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--payload-predicate", "retry",
        "--execute", "--backup", str(tmp_path / "backups"),
    )  # fmt: skip

    # Then the backup's lines are the two messages now in the source queue, with their attributes,
    # and the third (not moved) is not in it
    assert code == 0, err
    backed_up = lines(tmp_path / "backups")
    moved = queues.drain(source)
    assert sorted(line["body"] for line in backed_up) == sorted(m["Body"] for m in moved)
    assert len(backed_up) == 2
    # as they were in the DLQ (the copies sent carry one more attribute: their replay count)
    assert all(line["message_attributes"] == ATTRIBUTES for line in backed_up)
    assert all(set(m["MessageAttributes"]) == {*ATTRIBUTES, "dlq.replays"} for m in moved)
    assert {line["target"] for line in backed_up} == {source}
    assert all(line["source"] == f"sqs_dlq {dlq}" for line in backed_up)
    assert [json.loads(m["Body"])["order_id"] for m in queues.drain(dlq)] == ["o-2"]
    assert "backup: 2 message(s) written to" in err


def test_a_whole_dlq_with_a_backup_is_moved_by_hand_not_by_a_move_task(
    queues: Queues, orders: tuple[str, str], tmp_path: Path
) -> None:
    # A move task would move messages this run never reads (and moto has none): with --backup, by hand
    source, dlq = orders
    queues.put(dlq, ['{"order_id": "o-1"}', '{"order_id": "o-2"}'])
    code, out, err = run(
        "redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--execute", "--backup", str(tmp_path), "--json"
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["method"] == "manual"
    assert sorted(line["body"] for line in lines(tmp_path)) == queues.bodies(source)


def test_a_dry_run_writes_no_backup(queues: Queues, orders: tuple[str, str], tmp_path: Path) -> None:
    _, dlq = orders
    queues.put(dlq, ['{"order_id": "o-1"}'])
    code, _, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--backup", str(tmp_path))
    assert code == 0
    assert list(tmp_path.iterdir()) == []
    assert "a dry run moves nothing, so it writes no backup" in err


def test_a_backup_that_cannot_be_created_refuses_the_run(
    queues: Queues, orders: tuple[str, str], tmp_path: Path
) -> None:
    _, dlq = orders
    queues.put(dlq, ['{"order_id": "o-1"}'])
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run(
        "redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--execute", "--backup", str(blocker)
    )  # fmt: skip
    assert code == 2
    assert f"--backup: cannot create a file in {blocker}" in err
    assert "Nothing was touched." in err
    assert queues.bodies(dlq) == ['{"order_id": "o-1"}']


class FullDisk:
    """A backup whose disk is full."""

    def write(self, source: str, works: list[Work]) -> None:
        raise OSError(28, "No space left on device")


def test_a_backup_write_that_fails_sends_nothing_and_stops(queues: Queues, orders: tuple[str, str]) -> None:
    # Given a DLQ of two messages and a backup that cannot be written
    source, dlq = orders
    queues.put(dlq, ['{"order_id": "o-1"}', '{"order_id": "o-2"}'])
    allowed = RedriveTargets(queues=frozenset({queues.arn(source)}))
    engine = Redrive(
        sqs=boto3.client("sqs"), lambda_client=FakeLambda(), targets=allowed, wait_time_s=0, backup=FullDisk()
    )

    # When a real run tries to move them
    report = engine.run(
        parse_redrive_request(
            {"source": {"type": "sqs_dlq", "queue_url": dlq}, "dry_run": False, "max_messages": 10}, allowed
        )
    )

    # Then nothing was sent, both are back in the DLQ, and the report says why it stopped
    assert (report.moved, report.status.value) == (0, "stopped")
    assert report.stopped_because is not None
    assert "the backup could not be written" in report.stopped_because
    assert queues.bodies(source) == []
    assert queues.bodies(dlq) == ['{"order_id": "o-1"}', '{"order_id": "o-2"}']


def test_a_ledger_redrive_backs_up_each_entry_before_invoking_it(aws: dict[str, Any], tmp_path: Path) -> None:
    # Given a ledger entry of an async failure
    function = "order-events-test"
    entry = LedgerEntry.model_validate(
        {
            "failure_id": "async-" + "b" * 32,
            "kind": FailureKind.ASYNC,
            "function_name": function,
            "function_arn": ARN.format(function),
            "occurred_at": "2026-12-04T08:00:00Z",
            "recorded_at": "2026-12-04T08:01:00Z",
            "payload": {"order_id": "o-9"},
            "has_payload": True,
        }
    )
    failure_ledger().record(entry)
    backup = JsonLinesBackup(tmp_path / "dlq-backup-ledger.jsonl")
    invoked = FakeLambda()
    allowed = RedriveTargets(functions=frozenset({function}))

    # When a real run redrives it with a backup
    report = Redrive(
        sqs=boto3.client("sqs"),
        lambda_client=invoked,
        ledger=failure_ledger(),
        targets=allowed,
        backup=backup,
    ).run(
        parse_redrive_request(
            {"source": {"type": "ledger", "failure_ids": [entry.failure_id]}, "dry_run": False}, allowed
        )
    )
    backup.close()

    # Then the backup holds the entry, with the event that was invoked
    assert report.moved == 1
    [line] = lines(tmp_path)
    assert line["failure_id"] == entry.failure_id
    assert json.loads(line["body"]) == {"order_id": "o-9"} == invoked.payloads()[0]

import io
import json
from pathlib import Path

import pytest

from lambda_failure_toolkit.cli.failure_record import main
from tests.cli_support import Terminal
from tests.events import EVENTS_DIR


def run(*argv: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    code = main(list(argv), stdin=io.StringIO(stdin), out=out)
    return code, out.getvalue()


def test_table_has_one_row_per_record_of_a_batch() -> None:
    code, out = run(str(EVENTS_DIR / "failures/failure-queue/from_sns.json"))
    assert code == 0
    header, rule, row = out.strip().splitlines()
    assert header.split()[:3] == ["where", "kind", "condition"]
    assert set(rule) == {"─"}
    assert "Records[0] sqs>sns" in row
    assert "RetriesExhausted" in row
    assert "orders-async-processor:$LATEST" in row
    assert "InventoryUnavailableError: downstream inventory" in row


def test_stream_failure_reported_by_the_function_says_so() -> None:
    _, out = run(str(EVENTS_DIR / "failures/destinations/stream/kinesis_retry_attempts_exhausted.json"))
    assert "batchItemFailures" in out


def test_json_lines_from_stdin() -> None:
    record = (EVENTS_DIR / "failures/destinations/async/zero_reserved_concurrency.json").read_text()
    code, out = run("--json", stdin=record)
    assert code == 0
    parsed = json.loads(out)
    assert parsed["condition"] == "ZeroReservedConcurrency"
    assert parsed["failure_id"].startswith("async-")


def test_refused_records_are_reported_and_the_rest_still_shown(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(str(EVENTS_DIR / "failures/failure-queue/mixed_batch.json"))
    assert code == 1
    assert len(out.strip().splitlines()) == 2 + 4  # the header and its rule, the 4 recognised
    assert "Records[4]: unrecognized failure record (unknown_shape) at sqs" in capsys.readouterr().err


def test_text_that_is_not_json_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code, out = run(stdin="this is not json")
    assert code == 1
    assert out == ""
    assert "(not_json)" in capsys.readouterr().err


def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run(str(tmp_path / "missing.json"))
    assert code == 2
    assert "cannot read" in capsys.readouterr().err


def test_a_table_for_a_terminal_and_plain_text_for_a_pipe() -> None:
    path = str(EVENTS_DIR / "failures/failure-queue/from_sns.json")
    terminal = Terminal()

    assert main([path], out=terminal) == 0
    _, piped = run(path)

    assert "\x1b[1mwhere" in terminal.getvalue()
    assert "\x1b" not in piped
    assert piped.startswith("where ")


def test_an_sns_subscription_dlq_message_is_read_once_its_queue_is_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = str(EVENTS_DIR / "failures/first-hop/sns_subscription.json")
    queue = "arn:aws:sqs:eu-west-1:123456789012:order-events-subscription-dlq-dev"
    # Without the queue named, nothing in the message says it is an undelivered event
    assert run(path)[0] == 1
    assert "(unknown_shape)" in capsys.readouterr().err
    code, out = run("--first-hop-dlq", queue, path)
    assert code == 0
    assert "delivery" in out
    assert "arn:aws:sns:eu-west-1:123456789012:order-events-dev" in out  # the topic, from the envelope


def test_an_eventbridge_rule_targets_dlq_message_shows_its_error_code() -> None:
    code, out = run(str(EVENTS_DIR / "failures/first-hop/eventbridge_no_permissions.json"))
    assert code == 0
    assert "NO_PERMISSIONS" in out
    assert "order-events-dev" in out

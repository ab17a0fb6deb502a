"""`dlq failures` and `dlq show`, the on-call console, against a moto ledger and CloudWatch Logs."""

import io
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import FailureLedger, LedgerEntry

FUNCTION = "order-events-test"
OTHER = "payments-test"
NOW = datetime.now(UTC).replace(microsecond=0)


def run(*argv: str, **kwargs: Any) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, **kwargs)
    return code, out.getvalue(), err.getvalue()


def ledger() -> FailureLedger:
    return FailureLedger(
        boto3.resource("dynamodb").Table(os.environ["LEDGER_TABLE_NAME"]),
        boto3.client("s3"),
        os.environ["LEDGER_BUCKET_NAME"],
    )


def entry(
    number: int,
    payload: Any,
    *,
    function: str = FUNCTION,
    error_type: str = "KeyError",
    ago: timedelta = timedelta(hours=1),
    recorded_ago: timedelta = timedelta(minutes=30),
) -> LedgerEntry:
    return LedgerEntry(
        failure_id=f"async-{number:032x}",
        kind=FailureKind.ASYNC,
        condition="RetriesExhausted",
        function_name=function,
        function_arn=f"arn:aws:lambda:eu-west-1:123456789012:function:{function}:$LATEST",
        qualifier="$LATEST",
        request_id=f"req-{number}",
        attempts=3,
        occurred_at=NOW - ago,
        recorded_at=NOW - recorded_ago,
        error_type=error_type,
        error_message=f"{error_type} in order {number}",
        function_error="Unhandled",
        stack_trace=(f'  File "/var/task/app.py", line {number}, in handler',),
        payload=payload,
        has_payload=True,
    )


@pytest.fixture
def failures(aws: dict[str, Any]) -> FailureLedger:
    """Three failures of one bug (an order without an amount, three different orders), one of another
    bug (an amount given as text) and one of another function."""
    book = ledger()
    book.record(entry(1, {"order_id": "o-1", "items": [{"sku": "a"}]}, ago=timedelta(hours=3)))
    book.record(entry(2, {"order_id": "o-2", "items": [{"sku": "b"}, {"sku": "c"}]}, ago=timedelta(hours=2)))
    book.record(entry(3, {"items": [{"sku": "d"}] * 3, "order_id": "o-3"}, ago=timedelta(minutes=90)))
    book.record(entry(4, {"order_id": "o-4", "amount": "12"}, error_type="TypeError", ago=timedelta(hours=1)))
    book.record(
        entry(5, {"payment": 1}, function=OTHER, error_type="TimeoutError", ago=timedelta(minutes=10))
    )
    return book


def json_out(*argv: str) -> Any:
    code, out, err = run(*argv, "--json")
    assert code == 0, err
    return json.loads(out)


# ---------------------------------------------------------------- dlq failures


def test_failures_lists_the_ledger_newest_first_with_its_filters(failures: FailureLedger) -> None:
    # When the operator lists one function's failures
    code, out, err = run("failures", "--function-name", FUNCTION)

    # Then its four come newest first, with what failed and how, and the other function's not at all
    assert code == 0, err
    rows = [line.split() for line in out.splitlines() if "async-" in line]
    assert [row[2] for row in rows] == [f"async-{n:032x}" for n in (4, 3, 2, 1)]
    assert rows[0][3:7] == ["async", FUNCTION, "RetriesExhausted", "TypeError:"]
    assert "4 failure(s), newest first." in out
    assert OTHER not in out
    # And the ledger's other filters apply too (error type, kind, redrive status)
    listed = json_out("failures", "--error-type", "TypeError", "--kind", "async", "--status", "pending")
    assert [e["failure_id"] for e in listed["entries"]] == [f"async-{4:032x}"]


def test_failures_pages_with_a_cursor(failures: FailureLedger) -> None:
    first = json_out("failures", "--limit", "2")
    assert [e["failure_id"][-1] for e in first["entries"]] == ["5", "4"]
    second = json_out("failures", "--limit", "2", "--cursor", first["cursor"])
    assert [e["failure_id"][-1] for e in second["entries"]] == ["3", "2"]
    # and the table says how to go on
    _, out, _ = run("failures", "--limit", "2")
    assert f"--cursor {first['cursor']}" in out


def test_grouping_by_fingerprint_puts_one_bug_together_and_another_apart(failures: FailureLedger) -> None:
    # When the operator groups one function's failures by payload fingerprint
    grouping = json_out("failures", "--function-name", FUNCTION, "--group-by", "fingerprint")

    # Then the three orders without an amount (other ids, lists of other lengths, keys in another order) are one group,
    # the order with its amount as text another
    counts = sorted((g["count"], g["example"][-1]) for g in grouping["groups"])
    assert counts == [(1, "4"), (3, "3")]
    biggest = grouping["groups"][0]
    assert (biggest["count"], biggest["pending"]) == (3, 3)
    assert biggest["first_seen"] < biggest["last_seen"]
    assert grouping["entries_read"] == 4
    assert grouping["more"] is False


def test_grouping_by_error_type_counts_what_is_still_pending(failures: FailureLedger) -> None:
    # Given one KeyError already redriven
    failures.mark_redriven(f"async-{1:032x}")

    # When grouped by error type, in a table
    code, out, _ = run("failures", "--group-by", "error_type")

    # Then each type has its count, and how many are still pending
    assert code == 0
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if "Error" in line}
    assert rows == {"KeyError": ["3", "2"], "TypeError": ["1", "1"], "TimeoutError": ["1", "1"]}
    assert "5 failure(s) in 3 group(s)." in out


def test_grouping_says_when_it_counted_only_the_newest(failures: FailureLedger) -> None:
    grouping = json_out("failures", "--group-by", "function", "--limit", "2")
    assert (grouping["entries_read"], grouping["more"]) == (2, True)
    _, out, _ = run("failures", "--group-by", "function", "--limit", "2")
    assert "more match: these count the newest 2" in out


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--since", "yesterday"], "not a moment: 'yesterday'"),
        (["--since", "1h", "--until", "2h"], "since is after until"),
        (["--function-name", FUNCTION, "--source-arn", "arn:aws:sqs:eu-west-1:1:q"], "not both"),
        (["--limit", "5000"], "at most 1000 entries a page"),
        (["--cursor", "bm90LWEtY3Vyc29y"], "--cursor: the cursor is not one this ledger returned"),
        (["--group-by", "fingerprint", "--cursor", "x"], "--cursor pages a list"),
    ],
)
def test_a_bad_filter_is_one_line_and_exit_2(aws: dict[str, Any], argv: list[str], says: str) -> None:
    code, out, err = run("failures", *argv)
    assert code == 2
    assert says in err
    assert "Traceback" not in err
    assert out == ""


def test_the_console_needs_the_ledger(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_TABLE_NAME")
    monkeypatch.delenv("LEDGER_BUCKET_NAME")
    for command in (["failures"], ["show", f"async-{1:032x}"]):
        code, _, err = run(*command)
        assert code == 2
        assert "reads the failure ledger: give --stack-name, or --ledger-table" in err


def test_a_ledger_that_cannot_be_read_is_exit_2(aws: dict[str, Any]) -> None:
    code, _, err = run("failures", "--ledger-table", "no-such-table", "--ledger-bucket", "b")
    assert code == 2
    assert "cannot read the failure ledger (ResourceNotFoundException" in err


# ---------------------------------------------------------------- dlq show


def log_lines(group: str, lines: list[tuple[datetime, str]]) -> None:
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/12/04/[$LATEST]abc")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/12/04/[$LATEST]abc",
        logEvents=[
            {"timestamp": int(at.timestamp() * 1000), "message": text}
            for at, text in sorted(lines, key=lambda line: line[0])
        ],
    )


def test_show_prints_the_whole_entry_its_redrives_and_its_log_lines(failures: FailureLedger) -> None:
    # Given a failure redriven once, and its function's log: its own request's lines, another request's,
    # and one of its own from long before the window
    failure_id = f"async-{2:032x}"
    failures.mark_redriven(failure_id, at=NOW - timedelta(minutes=5))
    occurred = NOW - timedelta(hours=2)
    log_lines(
        f"/aws/lambda/{FUNCTION}",
        [
            (occurred - timedelta(minutes=3), "START RequestId: req-2 Version: $LATEST"),
            (occurred - timedelta(minutes=3), "[ERROR] KeyError: 'amount' RequestId: req-2"),
            (occurred - timedelta(minutes=2), "START RequestId: req-9 is another request"),
            (occurred - timedelta(hours=5), "START RequestId: req-2 of a day long gone"),
        ],
    )

    # When the operator shows it
    code, out, err = run("show", failure_id)

    # Then the error, stack trace, event, origin and the redrive are there, and only its lines in the window
    assert code == 0, err
    assert "KeyError: KeyError in order 2" in out
    assert 'File "/var/task/app.py", line 2, in handler' in out
    assert '"order_id": "o-2"' in out
    assert "1 time(s), last" in out
    assert f"arn:aws:lambda:eu-west-1:123456789012:function:{FUNCTION}:$LATEST" in out
    assert "[ERROR] KeyError: 'amount' RequestId: req-2" in out
    assert "START RequestId: req-2 Version" in out
    assert "another request" not in out
    assert "a day long gone" not in out
    assert "redrives:" in out


def test_show_json_has_the_entry_and_the_logs(failures: FailureLedger) -> None:
    log_lines(f"/aws/lambda/{FUNCTION}", [(NOW - timedelta(hours=1), f"line {n} req-4") for n in range(5)])
    shown = json_out("show", f"async-{4:032x}", "--log-lines", "3")
    assert shown["entry"]["payload"] == {"order_id": "o-4", "amount": "12"}
    assert shown["entry"]["redrives"] == []
    assert len(shown["logs"]["lines"]) == 3
    assert shown["logs"]["truncated"] is True
    assert shown["logs"]["problem"] is None


def test_show_of_an_expired_entry_says_it_is_gone_and_exits_1(aws: dict[str, Any]) -> None:
    # Given an entry recorded past the ledger's retention (90 days), not yet deleted by DynamoDB's TTL
    ledger().record(entry(7, {"order_id": "o-7"}, ago=timedelta(days=95), recorded_ago=timedelta(days=91)))

    code, out, err = run("show", f"async-{7:032x}")

    assert code == 1
    assert "expired after the retention period, or never recorded" in err
    assert out == ""


def test_show_says_when_the_log_group_is_gone(failures: FailureLedger) -> None:
    code, out, _ = run("show", f"async-{3:032x}")
    assert code == 0
    assert f"the log group /aws/lambda/{FUNCTION} does not exist" in out
    assert '"order_id": "o-3"' in out  # the entry is shown all the same


def test_show_says_when_no_line_matches(failures: FailureLedger) -> None:
    log_lines(f"/aws/lambda/{FUNCTION}", [(NOW, "START RequestId: someone-else")])
    code, out, _ = run("show", f"async-{3:032x}", "--log-window", "5")
    assert code == 0
    assert "none: they expired with the group's retention" in out


class DeniedLogs(AwsSession):
    """The operator's role may read the ledger but not CloudWatch Logs."""

    def logs(self) -> Any:
        client = super().logs()

        def refuse(**_: Any) -> None:
            raise ClientError(
                {"Error": {"Code": "AccessDeniedException", "Message": "not authorized to perform"}},
                "FilterLogEvents",
            )

        client.meta.events.register("before-call.logs.FilterLogEvents", refuse)
        return client


def test_show_says_when_reading_the_log_is_not_allowed(failures: FailureLedger) -> None:
    code, out, _ = run("show", f"async-{3:032x}", aws_factory=DeniedLogs)
    assert code == 0
    assert f"not allowed to read /aws/lambda/{FUNCTION} (AccessDeniedException)" in out
    assert "logs:FilterLogEvents" in out


def test_show_refuses_what_is_not_a_failure_id(aws: dict[str, Any]) -> None:
    code, _, err = run("show", "order-42")
    assert code == 2
    assert "'order-42' is not a failure id" in err


@pytest.mark.parametrize(
    ("by", "expected"),
    [("function", {FUNCTION: 4, OTHER: 1}), ("condition", {"RetriesExhausted": 5})],
)
def test_grouping_by_function_or_condition(
    failures: FailureLedger, by: str, expected: dict[str, int]
) -> None:
    grouping = json_out("failures", "--group-by", by)
    assert {group["key"]: group["count"] for group in grouping["groups"]} == expected
    assert grouping["groups"][0]["count"] == max(expected.values())  # the largest first

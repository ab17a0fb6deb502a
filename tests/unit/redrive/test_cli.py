"""`dlq` without AWS: the request it builds, the exit status of each outcome, what it prints."""

import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoRegionError,
    PartialCredentialsError,
    ReadTimeoutError,
)

from lambda_failure_toolkit.cli.console import console_for
from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.cli.dlq.progress import Watch
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.redrive.report import FailedItem, GroupCount, Progress, RedriveReport, RunStatus
from lambda_failure_toolkit.redrive.request import LedgerSource, RedriveRequest
from tests.cli_support import CALLER, DLQ, FAILURE_ID, QUEUE, FakeAws, FakeEngine, Terminal
from tests.events import EVENTS_DIR, event_files, load_event


def dlq(*argv: str, engine: FakeEngine | None = None, aws: Any = FakeAws) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, engine_factory=engine or FakeEngine(), aws_factory=aws)
    return code, out.getvalue(), err.getvalue()


def untouchable(*_: Any) -> Any:
    raise AssertionError("AWS was reached")


SOURCE = ("--source-type", "sqs_dlq", "--queue-url", DLQ)


# ---------------------------------------------------------------- the command line


def test_help_reads_with_examples_and_exit_status() -> None:
    code, out, _ = dlq("--help")
    assert code == 0
    assert "dlq redrive --request next.json --execute" in out
    assert "exit status: 0 complete" in out

    code, out, _ = dlq("redrive", "--help")
    assert code == 0
    assert "--max-duration SECONDS" in out
    assert "without it the run is a dry run" in out


def test_an_unknown_option_is_refused() -> None:
    code, out, err = dlq("redrive", *SOURCE, "--dry", aws=untouchable)

    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == "dlq: unrecognized arguments: --dry"


def test_a_command_is_required() -> None:
    code, _, err = dlq(aws=untouchable)

    assert code == 2
    assert "dlq: the following arguments are required" in err


def test_an_option_of_the_wrong_type_is_refused_by_the_parser() -> None:
    code, _, err = dlq("redrive", *SOURCE, "--concurrency", "many", aws=untouchable)

    assert code == 2
    assert "dlq: argument --concurrency: invalid int value: 'many'" in err


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        (("--concurrency", "99"), "concurrency: Input should be less than or equal to 20"),
        (("--rate", "0"), "rate_per_second: Input should be greater than 0"),
        (("--error-message-pattern", "(unclosed"), "filter.error_message_pattern: not a regular expression"),
        (("--since", "yesterday"), "filter.since: Input should be a valid datetime"),
        (("--target-function", "order-events-dev"), "an SQS DLQ's messages go to a queue"),
    ],
)
def test_a_bad_value_is_refused_naming_the_field_before_aws(options: tuple[str, ...], problem: str) -> None:
    code, out, err = dlq("redrive", *SOURCE, *options, "--execute", aws=untouchable)

    assert (code, out) == (2, "")
    assert err.startswith("dlq: bad redrive request: ")
    assert any(line.startswith(f"  - {problem}") for line in err.splitlines()), err


def test_a_max_duration_out_of_range_is_refused() -> None:
    code, _, err = dlq("redrive", *SOURCE, "--max-duration", "0", aws=untouchable)

    assert code == 2
    assert "argument --max-duration: between 0 and 43140 seconds" in err


def test_without_a_source_it_says_what_to_give() -> None:
    code, _, err = dlq("redrive", "--max-messages", "5", aws=untouchable)

    assert code == 2
    assert err.startswith("dlq: no source: give --source-type")


def test_a_request_file_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text("[1, 2]")

    code, _, err = dlq("redrive", "--request", str(request), aws=untouchable)

    assert code == 2
    assert "a redrive request is a JSON object, not list" in err


# ---------------------------------------------------------------- the request built


def test_every_option_reaches_its_field() -> None:
    engine = FakeEngine()
    code, _, _ = dlq(
        "redrive",
        *SOURCE,
        "--target-queue-url",
        QUEUE,
        "--payload-predicate",
        "detail.total_cents > `1000`",
        "--since",
        "2026-11-20T08:00:00Z",
        "--until",
        "2026-11-21T08:00:00Z",
        "--max-messages",
        "500",
        "--rate",
        "50",
        "--concurrency",
        "4",
        "--keep-source",
        "--stop-after-consecutive-failures",
        "3",
        "--fifo-group-id",
        "replay",
        "--execute",
        engine=engine,
    )

    assert code == 0
    request = engine.request
    assert request is not None
    assert request.model_dump(mode="json", exclude_defaults=True, exclude={"filter"}) == {
        "source": {"type": "sqs_dlq", "queue_url": DLQ},
        "target": {"queue_url": QUEUE},
        "dry_run": False,
        "max_messages": 500,
        "rate_per_second": 50.0,
        "concurrency": 4,
        "keep_source": True,
        "stop_after_consecutive_failures": 3,
        "fifo_message_group_id": "replay",
        "requested_by": CALLER,
    }
    assert request.filter.payload_predicate == "detail.total_cents > `1000`"
    assert (request.filter.since.isoformat(), request.filter.until.isoformat()) == (  # type: ignore[union-attr]
        "2026-11-20T08:00:00+00:00",
        "2026-11-21T08:00:00+00:00",
    )


def test_the_target_given_is_the_allow_list_and_derived_targets_are_not_restricted() -> None:
    engine = FakeEngine()
    dlq("redrive", *SOURCE, "--target-queue-url", QUEUE, engine=engine)

    assert engine.parts["targets"].queues == frozenset({QUEUE})
    assert engine.parts["restrict_derived_targets"] is False
    assert engine.parts["invoke_identity_arn"]() == CALLER


def test_ledger_options_build_the_ledger_filter_and_the_ledger(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_TABLE_NAME", raising=False)
    monkeypatch.setenv("LEDGER_BUCKET_NAME", "ledger-bucket-env")
    aws = FakeAws()
    engine = FakeEngine()

    code, _, _ = dlq(
        "redrive",
        "--source-type",
        "ledger",
        "--ledger-function-name",
        "order-events-dev",
        "--ledger-redrive-status",
        "pending",
        "--ledger-kind",
        "async",
        "--ledger-kind",
        "dlq",
        "--ledger-condition",
        "RetriesExhausted",
        "--condition",
        "RetriesExhausted",
        "--error-type",
        "InventoryUnavailableError",
        "--ledger-table",
        "ledger-table",
        engine=engine,
        aws=lambda **_: aws,
    )

    assert code == 0
    assert aws.ledgers == [("ledger-table", "ledger-bucket-env")]
    assert engine.parts["ledger"] is not None
    request = engine.request
    assert request is not None
    assert isinstance(request.source, LedgerSource)
    ledger_filter = request.source.filter
    assert ledger_filter is not None
    assert (ledger_filter.function_name, ledger_filter.redrive_status) == ("order-events-dev", "pending")
    assert ledger_filter.kinds == frozenset({FailureKind.ASYNC, FailureKind.DLQ})
    assert ledger_filter.conditions == frozenset({"RetriesExhausted"})
    assert request.filter.conditions == frozenset({"RetriesExhausted"})
    assert request.filter.error_types == frozenset({"InventoryUnavailableError"})


def test_half_a_ledger_configuration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_TABLE_NAME", raising=False)
    monkeypatch.delenv("LEDGER_BUCKET_NAME", raising=False)

    code, _, err = dlq("redrive", *SOURCE, "--ledger-table", "ledger-table")

    assert code == 2
    assert "the ledger needs its table and its bucket" in err


def test_another_source_type_replaces_the_files_source(tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"source": {"type": "lambda_dlq", "queue_url": DLQ, "function": "f"}}))
    engine = FakeEngine()

    code, _, _ = dlq(
        "redrive",
        "--request",
        str(request),
        "--source-type",
        "ledger",
        "--failure-id",
        FAILURE_ID,
        "--ledger-table",
        "ledger-table",
        "--ledger-bucket",
        "ledger-bucket",
        engine=engine,
    )

    assert code == 0
    assert engine.request is not None
    assert engine.request.model_dump(mode="json", include={"source"}, exclude_defaults=True) == {
        "source": {"type": "ledger", "failure_ids": [FAILURE_ID]}
    }


@pytest.mark.parametrize("sample", event_files("redrive"))
def test_the_functions_sample_requests_run_here_as_dry_runs(sample: str) -> None:
    engine = FakeEngine()
    ledger = ("--ledger-table", "ledger-table", "--ledger-bucket", "ledger-bucket")

    code, _, _ = dlq("redrive", "--request", str(EVENTS_DIR / sample), *ledger, engine=engine)

    assert code == 0
    assert engine.request is not None
    assert engine.request.dry_run is True
    expected = {k: v for k, v in load_event(sample).items() if k not in {"dry_run", "requested_by"}}
    assert engine.request.model_dump(mode="json", exclude_defaults=True, exclude={"requested_by"}) == expected


def test_the_files_requested_by_is_replaced_by_the_caller(tmp_path: Path) -> None:
    request = tmp_path / "next.json"
    request.write_text(
        json.dumps({"source": {"type": "sqs_dlq", "queue_url": DLQ}, "requested_by": "someone"})
    )
    engine = FakeEngine()

    dlq("redrive", "--request", str(request), engine=engine)

    assert engine.request is not None
    assert engine.request.requested_by == CALLER


def test_region_profile_and_endpoint_reach_the_session() -> None:
    seen: list[dict[str, str | None]] = []

    def aws(**options: str | None) -> FakeAws:
        seen.append(options)
        return FakeAws()

    dlq(
        "redrive",
        *SOURCE,
        "--region",
        "eu-central-1",
        "--profile",
        "oncall",
        "--endpoint-url",
        "http://localhost:5000",
        aws=aws,
    )

    assert seen == [{"region": "eu-central-1", "endpoint_url": "http://localhost:5000", "profile": "oncall"}]


def test_a_short_run_keeps_a_margin_in_proportion() -> None:
    engine = FakeEngine()
    dlq("redrive", *SOURCE, "--max-duration", "60", engine=engine)
    assert engine.parts["margin_s"] == 6.0

    dlq("redrive", *SOURCE, engine=engine)
    assert engine.parts["margin_s"] == 30.0


# ---------------------------------------------------------------- outcomes


@pytest.mark.parametrize(
    ("report", "code"),
    [
        ({}, 0),
        ({"failed": 1, "failures": [FailedItem(id="m-1", target=QUEUE, reason="no target")]}, 1),
        ({"status": RunStatus.STOPPED, "stopped_because": "the deadline"}, 1),
        ({"status": RunStatus.MOVE_TASK_STARTED}, 1),
        ({"status": RunStatus.REJECTED, "problems": ("AccessDenied: no",)}, 2),
    ],
)
def test_exit_status_of_each_outcome(report: dict[str, Any], code: int) -> None:
    assert dlq("redrive", *SOURCE, engine=FakeEngine(report))[0] == code


def test_a_rejected_report_prints_its_problems_and_no_table() -> None:
    engine = FakeEngine(
        {
            "status": RunStatus.REJECTED,
            "problems": ("AccessDenied: no",),
            "message": "SQS did not start the move",
        }
    )

    code, out, err = dlq("redrive", *SOURCE, "--execute", engine=engine)

    assert (code, out) == (2, "")
    assert err.splitlines()[-2:] == ["dlq: SQS did not start the move", "  - AccessDenied: no"]


def test_the_report_in_a_pipe_is_plain_aligned_text() -> None:
    engine = FakeEngine(
        {
            "method": "manual",
            "received": 4,
            "would_move": 3,
            "skipped_by_filter": 1,
            "message": "a message from the engine",
            "groups": [
                GroupCount(target="orders-queue-dev", function=None, condition=None, error_type=None, count=3)
            ],
        }
    )

    code, out, _ = dlq("redrive", *SOURCE, engine=engine)

    assert code == 0
    assert out == (
        "DRY RUN: nothing was moved. Run it again with --execute to move what would move.\n"
        "\n"
        "status                complete\n"
        "mode                  dry run (the default)\n"
        f"source                sqs_dlq {DLQ}\n"
        "method                manual\n"
        f"requested by          {CALLER}\n"
        "received              4\n"
        "would move            3\n"
        "skipped by filter     1\n"
        "failed                0\n"
        "suspected duplicates  0\n"
        "duration              0.0 s\n"
        "rate                  0.0/s\n"
        "stopped because       -\n"
        "remaining in source   -\n"
        "run id                run-1\n"
        "\n"
        "a message from the engine\n"
        "\n"
        "would move, by group:\n"
        "target            function  condition  error type  count\n" + "─" * 56 + "\n"
        "orders-queue-dev  -         -          -           3\n"
    )


def test_failures_beyond_those_listed_are_counted_by_reason() -> None:
    engine = FakeEngine(
        {
            "failed": 250,
            "failures": [FailedItem(id="m-1", target=QUEUE, reason="no target: give target.queue_url")],
            "failure_reasons": {"no target": 200, "InvalidParameterValue": 50},
        }
    )

    code, out, _ = dlq("redrive", *SOURCE, engine=engine)

    assert code == 1
    assert "failures (they stay where they were):" in out
    assert f"m-1  {QUEUE}  no target: give target.queue_url" in out
    assert "... and 249 more: no target x200, InvalidParameterValue x50" in out


def test_json_output_is_the_report_alone_and_the_hint_goes_to_stderr() -> None:
    engine = FakeEngine({"status": RunStatus.STOPPED, "next_request": {"source": {"type": "sqs_dlq"}}})

    code, out, err = dlq("redrive", *SOURCE, "--json", engine=engine)

    assert code == 1
    assert json.loads(out)["next_request"] == {"source": {"type": "sqs_dlq"}}
    assert "go on with: save it as next.json" in err
    assert "dlq redrive --request next.json\n" in err  # a dry run goes on as a dry run


def test_an_unwritable_next_request_file_still_prints_it(tmp_path: Path) -> None:
    engine = FakeEngine({"status": RunStatus.STOPPED, "next_request": {"source": {"type": "sqs_dlq"}}})

    code, out, err = dlq(
        "redrive", *SOURCE, "--next-request-file", str(tmp_path / "no" / "such" / "dir.json"), engine=engine
    )

    assert code == 1
    assert "dlq: cannot write the next request to" in err
    assert '"type": "sqs_dlq"' in out


def test_an_endpoint_that_cannot_be_reached_before_any_read_is_refused() -> None:
    engine = FakeEngine(error=EndpointConnectionError(endpoint_url="http://localhost:5000/"))

    code, out, err = dlq("redrive", *SOURCE, engine=engine)

    assert (code, out) == (2, "")
    assert err.splitlines()[-1] == (
        'dlq: Could not connect to the endpoint URL: "http://localhost:5000/": check --endpoint-url, '
        "--region and the network. Nothing was touched."
    )


def test_an_aws_error_once_messages_were_read_says_what_was_done() -> None:
    engine = FakeEngine(
        progress=(Progress(received=20, moved=10, would_move=0, skipped=0, failed=0),),
        error=ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListDeadLetterSourceQueues"),
    )

    code, out, err = dlq("redrive", *SOURCE, "--execute", engine=engine)

    assert (code, out) == (1, "")
    assert "dlq: the run stopped on an AWS error after reading 20 message(s) (moved 10, failed 0)" in err
    assert "Traceback" not in err


def test_expired_credentials_are_one_clear_line() -> None:
    class Expired(FakeAws):
        def caller_arn(self) -> str:
            raise ClientError({"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "GetCallerIdentity")

    code, _, err = dlq("redrive", *SOURCE, aws=Expired)

    assert code == 2
    assert err == (
        "dlq: AWS refused the credentials (ExpiredToken: expired): refresh them (e.g. aws sso login). "
        "Nothing was touched.\n"
    )


def test_an_interrupted_run_says_where_the_messages_are() -> None:
    code, _, err = dlq("redrive", *SOURCE, engine=FakeEngine(error=KeyboardInterrupt()))

    assert code == 130
    assert "dlq: interrupted. A message leaves its source only once its target accepted it" in err


def test_on_a_terminal_progress_is_a_rich_bar_that_ends_on_the_counts() -> None:
    engine = FakeEngine(
        progress=(
            Progress(received=10, moved=0, would_move=9, skipped=1, failed=0),
            Progress(received=40, moved=0, would_move=38, skipped=2, failed=0),
        )
    )
    out, err = io.StringIO(), Terminal()

    code = main(["redrive", *SOURCE], out=out, err=err, engine_factory=engine, aws_factory=FakeAws)

    assert code == 0
    assert "\x1b[" in err.getvalue()  # drawn in place: a terminal only
    assert "40/~40 read  would move 38  skipped 2  failed 0" in err.getvalue()
    assert "\x1b[" not in out.getvalue()  # the report goes to a pipe here: plain


def test_off_a_terminal_progress_is_a_line_every_ten_seconds_and_one_at_the_end() -> None:
    # Given a watch on a stream that is not a terminal (a CI log), asked to show progress
    now = [0.0]
    stream = io.StringIO()
    watch = Watch(console_for(stream), show=True, total=None, dry_run=False, clock=lambda: now[0])

    # When progress comes in 5 s apart, a log line in between
    with watch:
        for second, received in ((0, 10), (5, 20), (10, 30)):
            now[0] = second
            watch(Progress(received=received, moved=received, would_move=0, skipped=0, failed=0))
        watch.line("dlq: warning: something")
        now[0] = 12
        watch(Progress(received=40, moved=39, would_move=0, skipped=0, failed=1))

    # Then plain lines: at most one each 10 s, and the last counts when it ends
    assert stream.getvalue() == (
        "dlq: progress: 10 read  moved 10  skipped 0  failed 0\n"
        "dlq: progress: 30 read  moved 30  skipped 0  failed 0\n"
        "dlq: warning: something\n"
        "dlq: progress: 40 read  moved 39  skipped 0  failed 1\n"
    )


def test_a_late_older_count_from_another_worker_does_not_take_the_last_line_back() -> None:
    # Given a watch off a terminal, and two workers whose counts reach it out of order
    stream = io.StringIO()
    watch = Watch(console_for(stream), show=True, total=3, dry_run=False, clock=lambda: 0.0)

    # When the count of 3 arrives before the count of 2 taken earlier
    with watch:
        watch(Progress(received=3, moved=3, would_move=0, skipped=0, failed=0))
        watch(Progress(received=2, moved=2, would_move=0, skipped=0, failed=0))

    # Then the last line is the furthest count
    assert stream.getvalue().splitlines()[-1] == "dlq: progress: 3/~3 read  moved 3  skipped 0  failed 0"
    assert watch.last is not None
    assert watch.last.received == 3


def test_progress_asked_for_off_a_terminal_counts_against_the_queue_size_or_the_bound() -> None:
    engine = FakeEngine(progress=(Progress(received=10, moved=0, would_move=9, skipped=1, failed=0),))

    code, _, err = dlq("redrive", *SOURCE, "--progress", "--max-messages", "20", engine=engine)

    assert code == 0
    assert err.splitlines()[-1] == "dlq: progress: 10/~20 read  would move 9  skipped 1  failed 0"
    assert err.count("dlq: progress:") == 1  # the last counts, already said: not said again
    assert "\r" not in err


def test_no_progress_on_a_terminal_when_told_so() -> None:
    engine = FakeEngine(progress=(Progress(received=10, moved=0, would_move=9, skipped=1, failed=0),))
    err = Terminal()

    main(
        ["redrive", *SOURCE, "--no-progress"],
        out=io.StringIO(),
        err=err,
        engine_factory=engine,
        aws_factory=FakeAws,
    )

    assert "read  would move" not in err.getvalue()


def test_on_a_terminal_the_log_prints_above_the_bar_and_ctrl_c_puts_the_cursor_back() -> None:
    class Interrupted(FakeEngine):
        def run(self, request: RedriveRequest, **kwargs: Any) -> RedriveReport:
            logging.getLogger("lambda_failure_toolkit.redrive.engine").warning("slow target")
            raise KeyboardInterrupt

    err = Terminal()

    code = main(
        ["redrive", *SOURCE, "-v"],
        out=io.StringIO(),
        err=err,
        engine_factory=Interrupted(),
        aws_factory=FakeAws,
    )

    assert code == 130
    text = err.getvalue()
    assert "dlq: warning: slow target" in text
    assert text.index("\x1b[?25h") < text.index("dlq: interrupted.")  # the bar stopped, then the line


def test_a_queue_whose_size_cannot_be_read_counts_without_a_total() -> None:
    class NoAttributes(FakeAws):
        def sqs(self) -> Any:
            class Sqs:
                def get_queue_attributes(self, **_: Any) -> Any:
                    raise ClientError(
                        {"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetQueueAttributes"
                    )

            return Sqs()

    engine = FakeEngine(progress=(Progress(received=10, moved=0, would_move=9, skipped=1, failed=0),))

    _, _, err = dlq("redrive", *SOURCE, "--progress", engine=engine, aws=NoAttributes)

    assert "dlq: progress: 10 read  would move 9  skipped 1  failed 0" in err


def test_verbose_shows_the_library_log_with_its_fields() -> None:
    class Logging(FakeEngine):
        def run(self, request: RedriveRequest, **kwargs: Any) -> RedriveReport:
            import logging

            logging.getLogger("lambda_failure_toolkit.redrive.engine").warning(
                "not redrivable", extra={"id": "m-1"}
            )
            return super().run(request, **kwargs)

    _, _, quiet = dlq("redrive", *SOURCE, engine=Logging())
    _, _, verbose = dlq("redrive", *SOURCE, "-v", engine=Logging())

    assert "not redrivable" not in quiet
    assert 'dlq: warning: not redrivable {"id":"m-1"}' in verbose


def test_a_max_duration_that_is_not_a_number_is_refused() -> None:
    code, _, err = dlq("redrive", *SOURCE, "--max-duration", "soon", aws=untouchable)

    assert code == 2
    assert "argument --max-duration: not a number of seconds: 'soon'" in err


def test_an_aws_refusal_before_any_read_is_refused_cleanly() -> None:
    engine = FakeEngine(
        error=ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "ListDeadLetterSourceQueues")
    )

    code, _, err = dlq("redrive", *SOURCE, engine=engine)

    assert code == 2
    assert err.splitlines()[-1] == "dlq: the run could not start: AccessDenied: no. Nothing was touched."


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (NoRegionError(), "dlq: no AWS region: give --region or set AWS_REGION. Nothing was touched.\n"),
        (
            PartialCredentialsError(provider="env", cred_var="AWS_SECRET_ACCESS_KEY"),
            "dlq: AWS credentials: Partial credentials found in env, missing: AWS_SECRET_ACCESS_KEY. "
            "Nothing was touched.\n",
        ),
    ],
)
def test_a_region_or_credentials_missing_is_one_clear_line(error: Exception, line: str) -> None:
    class Broken(FakeAws):
        def caller_arn(self) -> str:
            raise error

    code, _, err = dlq("redrive", *SOURCE, aws=Broken)

    assert (code, err) == (2, line)


def test_an_unknown_profile_is_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))  # no profile at all
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    code, _, err = dlq("redrive", *SOURCE, "--profile", "oncall", aws=AwsSession)

    assert code == 2
    assert err == (
        "dlq: The config profile (oncall) could not be found: check --profile or AWS_PROFILE "
        "(aws configure list-profiles). Nothing was touched.\n"
    )


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (("--endpoint-url", "not a url"), "--endpoint-url"),
        (("--endpoint-url", "localhost:5000"), "--endpoint-url"),
        (("--endpoint-url", "http://[::1"), "--endpoint-url"),
        (("--region", "eu west 1"), "--region"),
    ],
)
def test_a_malformed_endpoint_or_region_is_one_line_and_exit_2(
    options: tuple[str, ...], named: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the tool's real AWS session, with credentials (botocore resolves them before it checks
    # the endpoint and the region, when it builds a client)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)

    # When the operator gives a malformed endpoint or region
    code, out, err = dlq("redrive", *SOURCE, *options, aws=AwsSession)

    # Then one line names the value and the option, and nothing was touched
    assert (code, out) == (2, "")
    [line] = err.splitlines()
    assert line.startswith("dlq: ")
    assert repr(options[1]) in line
    assert named in line
    assert line.endswith("Nothing was touched.")


def test_a_malformed_endpoint_from_the_environment_names_where_it_comes_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "nope")
    monkeypatch.delenv("AWS_PROFILE", raising=False)

    code, _, err = dlq("redrive", *SOURCE, aws=AwsSession)

    assert code == 2
    assert err == (
        "dlq: the endpoint configured (AWS_ENDPOINT_URL or the profile's endpoint_url) is not a valid URL "
        "(Invalid endpoint: nope): give one such as http://localhost:4566. Nothing was touched.\n"
    )


def test_sts_unreachable_otherwise_falls_back_to_the_os_user(monkeypatch: pytest.MonkeyPatch) -> None:
    class StsTimesOut(FakeAws):
        def caller_arn(self) -> str:
            raise ReadTimeoutError(endpoint_url="https://sts.amazonaws.com")

    monkeypatch.setattr("lambda_failure_toolkit.cli.dlq.command.getpass.getuser", lambda: "bob")
    engine = FakeEngine()

    code, _, err = dlq("redrive", *SOURCE, engine=engine, aws=StsTimesOut)

    assert code == 0
    assert engine.request is not None
    assert engine.request.requested_by == "os-user:bob (unverified: sts get-caller-identity failed)"
    assert engine.parts["invoke_identity_arn"] is None
    assert "sts get-caller-identity failed (Read timeout on endpoint URL" in err


def test_a_ledger_source_by_ids_counts_them_for_the_progress_bar() -> None:
    engine = FakeEngine(progress=(Progress(received=1, moved=0, would_move=1, skipped=0, failed=0),))

    dlq_args = ("--source-type", "ledger", "--failure-id", FAILURE_ID, "--failure-id", "dlq-" + "b" * 32)
    ledger = ("--ledger-table", "t", "--ledger-bucket", "b")
    _, _, err = dlq("redrive", *dlq_args, *ledger, "--progress", engine=engine)

    assert "dlq: progress: 1/~2 read  would move 1" in err


# ---------------------------------------------------------------- dlq invoke, its odd answers


class FakeLambdaAws(FakeAws):
    """The real session's Lambda client makes one attempt a call (tests/handlers/test_clients.py):
    a retried invoke would run the redrive twice."""

    def __init__(self, client: Any) -> None:
        super().__init__()
        self.client = client

    def lambda_client(self) -> Any:
        return self.client


def invoke(client: Any, *options: str) -> tuple[int, str, str]:
    aws = FakeLambdaAws(client)
    return dlq("invoke", "--function-name", "redrive-dev", *SOURCE, *options, aws=lambda **_: aws)


def answering(mocker: Any, payload: Any) -> Any:
    client = mocker.Mock()
    text = payload if isinstance(payload, str) else json.dumps(payload)
    client.invoke.return_value = {"StatusCode": 200, "Payload": io.BytesIO(text.encode())}
    return client


def test_invoke_without_an_answer_may_still_be_running(mocker: Any) -> None:
    client = mocker.Mock()
    client.invoke.side_effect = ReadTimeoutError(endpoint_url="https://lambda")

    code, out, err = invoke(client)

    assert (code, out) == (1, "")
    assert "dlq: no answer from redrive-dev (Read timeout on endpoint URL" in err
    assert "it may still be running" in err


def test_invoke_an_answer_that_is_not_a_report(mocker: Any) -> None:
    code, _, err = invoke(answering(mocker, "null"))

    assert code == 1
    assert "dlq: redrive-dev answered something that is not a redrive report: null" in err


def test_invoke_a_bare_rejection(mocker: Any) -> None:
    code, _, err = invoke(answering(mocker, {"status": "rejected", "problems": ["source: required"]}))

    assert code == 2
    assert err.splitlines()[-2:] == [
        "dlq: redrive-dev refused the request. Nothing was touched.",
        "  - source: required",
    ]


def test_invoke_a_rejection_as_json(mocker: Any) -> None:
    report = {
        "run_id": "r",
        "status": "rejected",
        "dry_run": True,
        "source": "x",
        "problems": ["target.function f is not in the allow-list (empty: set it at deployment)"],
    }

    code, out, err = invoke(answering(mocker, report), "--json")

    assert code == 2
    assert json.loads(out)["problems"] == report["problems"]
    assert "  - target.function f is not in the allow-list" in err


def test_invoke_a_stopped_run_says_how_to_go_on_through_the_function(mocker: Any, tmp_path: Path) -> None:
    report = {
        "run_id": "r",
        "status": "stopped",
        "dry_run": False,
        "source": "x",
        "next_request": {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "dry_run": False},
    }

    code, out, _ = invoke(
        answering(mocker, report), "--execute", "--next-request-file", str(tmp_path / "n.json")
    )

    assert code == 1
    assert (
        f"go on with: dlq invoke --function-name redrive-dev --request {tmp_path / 'n.json'} --execute" in out
    )


def test_invoke_with_credentials_refused_is_one_clear_line(mocker: Any) -> None:
    client = mocker.Mock()
    client.invoke.side_effect = ClientError(
        {"Error": {"Code": "ExpiredToken", "Message": "expired"}}, "Invoke"
    )

    code, _, err = invoke(client)

    assert code == 2
    assert err.splitlines()[-1] == (
        "dlq: AWS refused the credentials (ExpiredToken: expired): refresh them (e.g. aws sso login). "
        "Nothing was touched."
    )


def test_invoke_a_failure_whose_answer_is_not_json(mocker: Any) -> None:
    client = answering(mocker, "Task timed out after 900.00 seconds")
    client.invoke.return_value["FunctionError"] = "Unhandled"

    code, _, err = invoke(client)

    assert code == 1
    assert "dlq: redrive-dev failed (Unhandled): error: Task timed out after 900.00 seconds." in err


def test_going_on_repeats_where_the_run_was(tmp_path: Path) -> None:
    engine = FakeEngine({"status": RunStatus.STOPPED, "next_request": {"source": {"type": "sqs_dlq"}}})
    next_file = tmp_path / "next request.json"

    _, out, _ = dlq(
        "redrive",
        *SOURCE,
        "--ledger-table",
        "ledger-table",
        "--ledger-bucket",
        "ledger-bucket",
        "--region",
        "eu-west-1",
        "--profile",
        "oncall",
        "--next-request-file",
        str(next_file),
        engine=engine,
    )

    assert (
        "go on with: dlq redrive --ledger-table ledger-table --ledger-bucket ledger-bucket --region eu-west-1 "
        f"--profile oncall --request '{next_file}'\n"
    ) in out

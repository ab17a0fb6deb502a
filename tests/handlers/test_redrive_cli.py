"""`dlq`, the operators' redrive tool, against moto queues: what it prints, moves and exits with."""

import io
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError, NoCredentialsError

from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.retry import Deadline
from tests.events import load_event
from tests.redrive_support import FakeLambda, client_error

# A receive that finds nothing ends a worker at once, instead of after a one-second long poll.
quick_engine = partial(Redrive, wait_time_s=0)

CALLER = "arn:aws:sts::123456789012:user/moto"


def run(
    *argv: str, engine_factory: Callable[..., Redrive] = quick_engine, **kwargs: Any
) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err, engine_factory=engine_factory, **kwargs)
    return code, out.getvalue(), err.getvalue()


def count(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]) + int(
        attributes["ApproximateNumberOfMessagesNotVisible"]
    )


def bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(message["Body"] for message in messages)


def summary(out: str) -> dict[str, str]:
    """The summary table's rows, by their label."""
    rows = {}
    for line in out.splitlines():
        label, _, value = line.partition("  ")
        if value.strip():
            rows[label] = value.strip()
    return rows


@pytest.fixture
def dlq(aws: dict[str, Any]) -> dict[str, Any]:
    """A queue whose three messages failed twice and went to its DLQ, as SQS moves them."""
    sqs = aws["sqs"]
    dlq_url = sqs.create_queue(QueueName="orders-queue-dlq-test")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    queue_url = sqs.create_queue(
        QueueName="orders-queue-test",
        Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})},
    )["QueueUrl"]
    for number in range(3):
        sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps({"order_id": f"ord-{number}"}))
    for _ in range(2):  # the second receive passes maxReceiveCount: SQS moves them to the DLQ
        sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert count(sqs, dlq_url) == 3
    assert count(sqs, queue_url) == 0
    return {"sqs": sqs, "dlq_url": dlq_url, "queue_url": queue_url}


def test_a_dry_run_prints_what_would_move_and_moves_nothing(dlq: dict[str, Any]) -> None:
    # Given a DLQ holding three messages of one queue
    # When the operator runs dlq without --execute
    code, out, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", dlq["dlq_url"])

    # Then it says it is a dry run, what would move where, and nothing moved
    assert code == 0
    assert out.startswith("DRY RUN: nothing was moved")
    rows = summary(out)
    assert rows["status"] == "complete"
    assert rows["mode"] == "dry run (the default)"
    assert rows["would move"] == "3"
    assert rows["failed"] == "0"
    assert rows["requested by"] == CALLER
    assert "target" in out
    group = next(line for line in out.splitlines() if line.startswith("orders-queue-test "))
    assert group.split()[-1] == "3"
    assert "dry run (the default; --execute moves)" in err
    assert f"requested by {CALLER}" in err
    assert count(dlq["sqs"], dlq["dlq_url"]) == 3
    assert count(dlq["sqs"], dlq["queue_url"]) == 0


def test_execute_moves_the_messages_back_and_exits_0(dlq: dict[str, Any]) -> None:
    # --max-messages: moved by hand (SQS's own move task is not in moto)
    code, out, _ = run(
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq["dlq_url"],
        "--max-messages",
        "100",
        "--execute",
    )

    assert code == 0, out
    assert "DRY RUN" not in out
    rows = summary(out)
    assert rows["mode"] == "executed"
    assert rows["moved"] == "3"
    assert rows["method"] == "manual"
    assert rows["remaining in source"] == "~0"
    assert count(dlq["sqs"], dlq["dlq_url"]) == 0
    assert bodies(dlq["sqs"], dlq["queue_url"]) == [json.dumps({"order_id": f"ord-{n}"}) for n in range(3)]


def test_a_target_given_on_the_command_line_is_allowed(dlq: dict[str, Any]) -> None:
    other = dlq["sqs"].create_queue(QueueName="orders-replay-test")["QueueUrl"]

    code, out, _ = run(
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq["dlq_url"],
        "--target-queue-url",
        other,
        "--payload-predicate",
        "order_id != 'ord-1'",
        "--execute",
        "--json",
    )

    report = json.loads(out)
    assert code == 0
    assert (report["moved"], report["skipped_by_filter"], report["failed"]) == (2, 1, 0)
    assert report["groups"][0]["target"] == "orders-replay-test"
    assert len(bodies(dlq["sqs"], other)) == 2
    assert bodies(dlq["sqs"], dlq["dlq_url"]) == [json.dumps({"order_id": "ord-1"})]


def test_a_whole_dlq_executed_starts_a_move_task_and_exits_1(dlq: dict[str, Any], mocker: Any) -> None:
    def engine(**parts: Any) -> Redrive:
        # moto has no StartMessageMoveTask: answer as SQS does
        mocker.patch.object(parts["sqs"], "start_message_move_task", return_value={"TaskHandle": "task-1"})
        return quick_engine(**parts)

    code, out, _ = run(
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq["dlq_url"],
        "--execute",
        engine_factory=engine,
    )

    assert code == 1  # SQS is still moving them: not done yet
    rows = summary(out)
    assert rows["status"] == "move_task_started"
    assert rows["move task"] == "task-1"
    assert rows["moving to"] == "each message's own source queue"
    assert "aws sqs list-message-move-tasks" in out


def test_a_bad_option_value_is_refused_naming_the_field(dlq: dict[str, Any]) -> None:
    code, out, err = run(
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq["dlq_url"],
        "--concurrency",
        "99",
        "--execute",
    )

    assert code == 2
    assert out == ""
    assert err.startswith("dlq: bad redrive request: concurrency:")
    assert "  - concurrency: Input should be less than or equal to 20" in err
    assert "Traceback" not in err
    assert count(dlq["sqs"], dlq["dlq_url"]) == 3


def test_a_queue_that_cannot_be_read_is_refused(aws: dict[str, Any]) -> None:
    missing = "https://sqs.eu-west-1.amazonaws.com/123456789012/no-such-queue"

    code, out, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", missing)

    assert code == 2
    assert out == ""
    assert err.splitlines()[-1].startswith(f"dlq: cannot read the queue {missing}")
    assert err.rstrip().endswith("Nothing was touched.")


def test_an_unreadable_request_file_is_refused(aws: dict[str, Any], tmp_path: Path) -> None:
    code, out, err = run("redrive", "--request", str(tmp_path / "missing.json"))

    assert (code, out) == (2, "")
    assert err.startswith(f"dlq: cannot read the request file {tmp_path / 'missing.json'}")


def test_a_request_file_that_is_not_json_is_refused(aws: dict[str, Any], tmp_path: Path) -> None:
    request = tmp_path / "request.json"
    request.write_text("{'source': 'not json'}")

    code, _, err = run("redrive", "--request", str(request))

    assert code == 2
    assert f"dlq: the request file {request} is not JSON" in err


def test_options_override_the_request_file_and_only_execute_moves(
    dlq: dict[str, Any], tmp_path: Path
) -> None:
    # Given a request file that asks for a real run of the whole DLQ
    request = tmp_path / "request.json"
    request.write_text(
        json.dumps(
            {"source": {"type": "sqs_dlq", "queue_url": dlq["dlq_url"]}, "dry_run": False, "concurrency": 2}
        )
    )

    # When it is run with an option over it, and without --execute
    code, out, err = run("redrive", "--request", str(request), "--max-messages", "1", "--json")

    # Then the option applies, and the run is a dry run all the same
    report = json.loads(out)
    assert code == 0
    assert report["dry_run"] is True
    assert (report["would_move"], report["moved"]) == (1, 0)
    assert report["stopped_because"] == "max_messages"
    assert '"dry_run": false; without --execute this is a dry run' in err
    assert count(dlq["sqs"], dlq["dlq_url"]) == 3


def test_a_run_stopped_at_its_deadline_writes_the_request_that_goes_on(
    dlq: dict[str, Any], tmp_path: Path
) -> None:
    # Given a run whose deadline has already come when it starts
    def out_of_time(**parts: Any) -> Redrive:
        engine = quick_engine(**parts)
        run = engine.run
        engine.run = lambda request, **options: run(request, **{**options, "deadline": Deadline.after(0)})  # type: ignore[method-assign]
        return engine

    next_file = tmp_path / "next.json"

    # When it runs with --next-request-file
    code, out, _ = run(
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq["dlq_url"],
        "--max-messages",
        "100",
        "--execute",
        "--next-request-file",
        str(next_file),
        engine_factory=out_of_time,
    )

    # Then it stops, says why, and saves the request that goes on
    assert code == 1
    rows = summary(out)
    assert rows["status"] == "stopped"
    assert rows["stopped because"].startswith("the deadline")
    assert f"next_request (written to {next_file}):" in out
    assert f"go on with: dlq redrive --request {next_file} --execute" in out
    assert json.loads(next_file.read_text())["source"]["queue_url"] == dlq["dlq_url"]
    assert count(dlq["sqs"], dlq["dlq_url"]) == 3

    # And running that request moves the messages
    code, out, _ = run("redrive", "--request", str(next_file), "--execute")
    assert code == 0
    assert summary(out)["moved"] == "3"
    assert count(dlq["sqs"], dlq["queue_url"]) == 3


def test_progress_asked_for_in_a_pipe_is_a_line_with_the_queue_size_as_total(dlq: dict[str, Any]) -> None:
    code, out, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", dlq["dlq_url"], "--progress")

    assert code == 0
    assert "dlq: progress" not in out
    assert err.splitlines()[-1] == "dlq: progress: 3/~3 read  would move 3  skipped 0  failed 0"
    assert "\r" not in err


def test_no_progress_bar_when_stderr_is_not_a_terminal(dlq: dict[str, Any]) -> None:
    _, _, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", dlq["dlq_url"])

    assert "\r" not in err


@pytest.fixture
def lambda_dlq(aws: dict[str, Any]) -> str:
    """A Lambda async DLQ holding the sample event, with the attributes Lambda adds."""
    sample = load_event("failures/dlq/sqs_lambda_dlq.json")["Records"][0]
    sqs = aws["sqs"]
    url = sqs.create_queue(QueueName="orders-async-processor-dlq")["QueueUrl"]
    sqs.send_message(
        QueueUrl=url,
        MessageBody=sample["body"],
        MessageAttributes={
            name: {"DataType": value["dataType"], "StringValue": value["stringValue"]}
            for name, value in sample["messageAttributes"].items()
        },
    )
    return str(url)


LAMBDA_DLQ = ("--source-type", "lambda_dlq", "--function", "orders-async-processor")


def test_a_lambda_dlq_dry_run_filtered_by_error_message(lambda_dlq: str) -> None:
    code, out, _ = run(
        "redrive", *LAMBDA_DLQ, "--queue-url", lambda_dlq, "--error-message-pattern", "503$", "--json"
    )

    report = json.loads(out)
    assert code == 0
    assert report["would_move"] == 1
    assert report["groups"][0]["target"] == "orders-async-processor"

    code, out, _ = run(
        "redrive", *LAMBDA_DLQ, "--queue-url", lambda_dlq, "--error-message-pattern", "timed out", "--json"
    )
    assert code == 0
    assert (json.loads(out)["would_move"], json.loads(out)["skipped_by_filter"]) == (0, 1)


def test_a_lambda_dlq_executed_invokes_the_function_and_empties_the_dlq(
    aws: dict[str, Any], lambda_dlq: str
) -> None:
    function = FakeLambda()  # moto cannot run Lambda code

    def engine(**parts: Any) -> Redrive:
        return quick_engine(**{**parts, "lambda_client": function})

    code, out, _ = run("redrive", *LAMBDA_DLQ, "--queue-url", lambda_dlq, "--execute", engine_factory=engine)

    assert code == 0
    assert summary(out)["moved"] == "1"
    [call] = function.calls
    assert (call["FunctionName"], call["InvocationType"]) == ("orders-async-processor", "Event")
    assert function.payloads()[0]["detail"]["order_id"] == "ord-7f3c9a21"
    assert count(aws["sqs"], lambda_dlq) == 0


def test_a_function_that_refuses_leaves_the_message_and_exits_1(aws: dict[str, Any], lambda_dlq: str) -> None:
    def refuse(call: dict[str, Any]) -> None:
        raise client_error("AccessDeniedException", "not allowed to invoke")

    def engine(**parts: Any) -> Redrive:
        return quick_engine(**{**parts, "lambda_client": FakeLambda(refuse)})

    code, out, _ = run("redrive", *LAMBDA_DLQ, "--queue-url", lambda_dlq, "--execute", engine_factory=engine)

    assert code == 1
    rows = summary(out)
    assert (rows["moved"], rows["failed"]) == ("0", "1")
    assert "failures (they stay where they were):" in out
    assert "AccessDeniedException: not allowed to invoke" in out
    assert count(aws["sqs"], lambda_dlq) == 1


def test_a_ledger_source_needs_the_ledger(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LEDGER_TABLE_NAME")
    monkeypatch.delenv("LEDGER_BUCKET_NAME")

    code, _, err = run("redrive", "--source-type", "ledger", "--ledger-function-name", "order-events-test")

    assert code == 2
    assert (
        "a ledger source needs the failure ledger: give --stack-name, or --ledger-table and --ledger-bucket"
        in err
    )


def test_a_ledger_by_filter_with_nothing_in_it(aws: dict[str, Any]) -> None:
    # The ledger is the aws fixture's (LEDGER_TABLE_NAME, LEDGER_BUCKET_NAME)
    code, out, _ = run(
        "redrive", "--source-type", "ledger", "--ledger-function-name", "order-events-test", "--json"
    )

    report = json.loads(out)
    assert code == 0
    assert (report["method"], report["received"], report["source"]) == ("ledger", 0, "ledger by filter")


def test_requested_by_falls_back_to_the_os_user_when_sts_fails(dlq: dict[str, Any]) -> None:
    class NoSts(AwsSession):
        def caller_arn(self) -> str:
            raise ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not for you"}}, "GetCallerIdentity"
            )

    code, out, err = run(
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq["dlq_url"],
        aws_factory=NoSts,
        os_user=lambda: "alice",
    )

    assert code == 0
    assert summary(out)["requested by"] == "os-user:alice (unverified: sts get-caller-identity failed)"
    assert (
        "dlq: audit: sts get-caller-identity failed (AccessDenied: not for you): the run is recorded as "
        "requested by os-user:alice (unverified: sts get-caller-identity failed)"
    ) in err


def test_no_credentials_is_one_clear_line(dlq: dict[str, Any]) -> None:
    class NoCredentials(AwsSession):
        def caller_arn(self) -> str:
            raise NoCredentialsError

    code, out, err = run(
        "redrive", "--source-type", "sqs_dlq", "--queue-url", dlq["dlq_url"], aws_factory=NoCredentials
    )

    assert (code, out) == (2, "")
    assert err.startswith("dlq: no AWS credentials found: configure them")
    assert len(err.splitlines()) == 1


# ---------------------------------------------------------------- dlq invoke


def report_payload(**fields: Any) -> dict[str, Any]:
    return {
        "run_id": "run-1",
        "status": "complete",
        "dry_run": True,
        "source": "sqs_dlq https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-test",
        "method": "manual",
        "requested_by": CALLER,
        "received": 2,
        "would_move": 2,
        "groups": [
            {
                "target": "orders-queue-test",
                "function": None,
                "condition": None,
                "error_type": None,
                "count": 2,
            }
        ],
        **fields,
    }


@pytest.fixture
def fake_lambda(aws: dict[str, Any], mocker: Any) -> Any:
    """The RedriveFunction as the lambda client sees it: its answers are set by each test."""
    client = mocker.Mock()
    mocker.patch.object(AwsSession, "lambda_client", return_value=client)
    return client


def answer(client: Any, payload: Any, **response: Any) -> None:
    client.invoke.return_value = {
        "StatusCode": 200,
        "Payload": io.BytesIO(json.dumps(payload).encode()),
        **response,
    }


def test_invoke_sends_the_request_and_prints_the_functions_report(fake_lambda: Any) -> None:
    answer(fake_lambda, report_payload())
    dlq_url = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-test"

    code, out, err = run(
        "invoke",
        "--function-name",
        "redrive-test",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq_url,
        "--rate",
        "5",
    )

    assert code == 0
    rows = summary(out)
    assert (rows["status"], rows["would move"]) == ("complete", "2")
    assert "orders-queue-test" in out
    assert "dlq: invoking redrive-test" in err
    call = fake_lambda.invoke.call_args.kwargs
    assert (call["FunctionName"], call["InvocationType"]) == ("redrive-test", "RequestResponse")
    assert json.loads(call["Payload"]) == {
        "source": {"type": "sqs_dlq", "queue_url": dlq_url},
        "rate_per_second": 5.0,
        "dry_run": True,
        "requested_by": CALLER,
    }


def test_invoke_a_request_the_function_rejects(fake_lambda: Any) -> None:
    answer(
        fake_lambda,
        report_payload(
            status="rejected",
            problems=["target.queue_url https://x/123456789012/q is not in the allow-list (empty)"],
            message="bad redrive request",
        ),
    )

    code, out, err = run(
        "invoke",
        "--function-name",
        "redrive-test",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-test",
        "--target-queue-url",
        "https://x/123456789012/q",
    )

    assert (code, out) == (2, "")
    assert err.splitlines()[-2:] == [
        "dlq: bad redrive request",
        "  - target.queue_url https://x/123456789012/q is not in the allow-list (empty)",
    ]


def test_invoke_a_function_that_fails(fake_lambda: Any) -> None:
    answer(
        fake_lambda,
        {"errorType": "Runtime.ExitError", "errorMessage": "out of memory"},
        FunctionError="Unhandled",
    )

    code, out, err = run(
        "invoke",
        "--function-name",
        "redrive-test",
        "--source-type",
        "ledger",
        "--failure-id",
        "async-" + "0" * 32,
    )

    assert (code, out) == (1, "")
    assert "dlq: redrive-test failed (Unhandled): Runtime.ExitError: out of memory" in err


def test_invoke_a_function_that_does_not_exist(fake_lambda: Any) -> None:
    fake_lambda.invoke.side_effect = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found"}}, "Invoke"
    )

    code, _, err = run(
        "invoke", "--function-name", "nope", "--source-type", "ledger", "--failure-id", "async-" + "0" * 32
    )

    assert code == 2
    assert (
        "dlq: cannot invoke nope (ResourceNotFoundException: Function not found). Nothing was touched." in err
    )

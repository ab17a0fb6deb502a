"""The failure story of `make demo`, asserted: each failure reaches its place through AWS's own
machinery (here ministack's), and the operator's redrive recovers it."""

import io
import json

import pytest

from demo.__main__ import tell_async_failure, tell_recovery, tell_sqs_batch
from demo.stack import DEMO_PARAMETERS, Stack
from demo.story import (
    REDRIVE_FUNCTION,
    AsyncFailure,
    SqsBatch,
    ledger_entry_for,
    new_order_id,
    order_event,
    order_state,
    redrive_async_failure,
    wait_for,
)
from lambda_failure_toolkit.cli.dlq import main as dlq
from lambda_failure_toolkit.ledger import RedriveStatus
from lambda_failure_toolkit.redrive.report import RedriveReport, RunStatus


def test_the_good_messages_of_a_batch_apply_and_the_poison_one_is_parked_after_max_receive_count(
    stack: Stack, sqs_batch: SqsBatch
) -> None:
    assert len(sqs_batch.sent) == 4
    assert [(s.revision, s.status) for s in sqs_batch.applied] == [(1, "PLACED")] * 3
    poison = [order_id for order_id, what in sqs_batch.sent if what.startswith("poison")]
    assert sqs_batch.parked_body == {"order_id": poison[0], "event_type": "OrderPlaced"}
    assert order_state(stack, poison[0]) is None
    # Received exactly maxReceiveCount times by the function, then moved: not lost, not retried forever.
    assert sqs_batch.max_receive_count == int(DEMO_PARAMETERS["SqsMaxReceiveCount"])
    assert sqs_batch.parked_receive_count == sqs_batch.max_receive_count
    assert stack.queue_depth(stack.outputs["OrdersQueueUrl"]) == 0

    told = io.StringIO()
    tell_sqs_batch(told, sqs_batch)
    assert f"{poison[0]}  poison: no revision  orders-queue-dlq-demo, after 2 receives" in told.getvalue()


def test_an_async_event_that_keeps_failing_is_retried_then_recorded_from_its_on_failure_record(
    transient_failure: AsyncFailure,
) -> None:
    entry = transient_failure.entry
    attempts = 1 + int(DEMO_PARAMETERS["AsyncMaximumRetryAttempts"])
    assert transient_failure.attempts_logged == attempts
    # ministack always writes approximateInvokeCount 3: the count in the log above is the real check.
    assert (entry.kind, entry.condition, entry.attempts) == ("async", "RetriesExhausted", attempts)
    assert entry.function_name == transient_failure.function
    assert entry.payload == transient_failure.event  # the original event, kept for the redrive
    order_id = transient_failure.event["order_id"]
    assert entry.error_message == f"order {order_id}: revision 2 arrived before revision 1"
    assert entry.redrive_status is RedriveStatus.PENDING

    told = io.StringIO()
    tell_async_failure(told, transient_failure)
    assert f"attempts   {attempts} failed invocations in the function's log" in told.getvalue()


def test_a_permanent_failure_is_recorded_by_the_function_itself_without_lambda_retries(stack: Stack) -> None:
    function = stack.outputs["OrderEventsFunctionName"]
    order_id = new_order_id("ord-rule")
    event = order_event(order_id, 1, "OrderPaid")  # paid before placed: no retry can apply it
    answer = stack.client("lambda").invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    response = json.loads(answer["Payload"].read())
    assert "FunctionError" not in answer
    assert (response["status"], response["errorType"]) == ("rejected", "OrderRuleViolationError")

    entry = ledger_entry_for(stack, function, order_id, timeout_s=60)

    assert (entry.condition, entry.attempts, entry.error_type) == (
        "PermanentFailure",
        1,
        "OrderRuleViolationError",
    )
    assert entry.payload == event


def test_a_dry_run_changes_nothing_and_the_redrive_after_the_fix_applies_the_event(
    stack: Stack, transient_failure: AsyncFailure
) -> None:
    recovery = redrive_async_failure(stack, transient_failure)

    assert recovery.dry_run.dry_run is True
    assert (recovery.dry_run.status, recovery.dry_run.would_move, recovery.dry_run.moved) == (
        RunStatus.COMPLETE,
        1,
        0,
    )
    assert recovery.state_after_dry_run is None
    assert recovery.state_after_fix is not None
    assert (recovery.state_after_fix.revision, recovery.state_after_fix.status) == (1, "PLACED")
    assert (recovery.redrive.dry_run, recovery.redrive.moved, recovery.redrive.failed) == (False, 1, 0)
    assert (recovery.state_after_redrive.revision, recovery.state_after_redrive.status) == (2, "PAID")
    assert recovery.entry_after.redrive_status is RedriveStatus.REDRIVEN
    assert recovery.entry_after.redrive_count == 1

    told = io.StringIO()
    tell_recovery(told, recovery)
    assert "redrive        complete: moved 1, failed 0" in told.getvalue()
    assert f"{recovery.state_after_redrive.order_id} at revision 2, PAID" in told.getvalue()

    # Run again: the entry is redriven, so a redrive of the pending ones finds nothing to send.
    source = recovery.request["source"]
    pending_only = {**source, "filter": {**source["filter"], "redrive_status": "pending"}}
    again = stack.remote_invoke(
        REDRIVE_FUNCTION, {**recovery.request, "source": pending_only, "dry_run": False}
    )
    assert (again["status"], again["moved"]) == ("complete", 0)

    # A canary redrive of it by id, from the command line: invoked synchronously first, the
    # function's answer awaited (the order is at revision 2 already: a duplicate it accepts).
    entry_id = recovery.entry_after.failure_id
    code, out, err = console(stack, "redrive", "--source-type", "ledger", "--failure-id", entry_id, "--canary", "1", "--execute", "--json")  # fmt: skip
    canary = RedriveReport.model_validate_json(out)
    assert code == 0, err
    assert canary.canary is not None
    assert canary.canary.passed, canary.canary
    assert canary.canary.outcomes[0].startswith(f"{entry_id} -> ")
    assert "succeeded, answered" in canary.canary.outcomes[0]
    assert (canary.moved, canary.failed) == (1, 0)


def console(stack: Stack, *argv: str) -> tuple[int, str, str]:
    """`dlq` against the deployed stack, its resources found by --stack-name."""
    out, err = io.StringIO(), io.StringIO()
    where = ["--stack-name", stack.name, "--endpoint-url", stack.account.url, "--region", "us-east-1"]
    with pytest.MonkeyPatch.context() as patch:
        for name, value in stack.account.environment().items():
            patch.setenv(name, value)
        code = dlq([*argv, *where], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_on_call_sees_what_failed_grouped_and_one_failure_whole(
    stack: Stack, transient_failure: AsyncFailure
) -> None:
    entry = transient_failure.entry
    # What failed, by error type: the async failure's type is a group of its own
    code, out, err = console(stack, "failures", "--group-by", "error_type", "--json")
    assert code == 0, err
    groups = {group["key"]: group for group in json.loads(out)["groups"]}
    assert entry.error_type is not None
    assert groups[entry.error_type]["count"] >= 1
    # Look at one: the whole entry, and its function's log lines for its request id
    code, out, err = console(stack, "show", entry.failure_id, "--json")
    assert code == 0, err
    shown = json.loads(out)
    assert shown["entry"]["payload"] == transient_failure.event
    assert shown["entry"]["error_message"] == entry.error_message
    logs = shown["logs"]
    assert logs["log_group"] == f"/aws/lambda/{transient_failure.function}"
    # The group is there and readable. On AWS an async event's retries keep its request id; ministack
    # logs each attempt under an id of its own, so no line matches there: said, not an error.
    assert logs["problem"] is None, logs
    # The same, for people
    code, out, _ = console(stack, "show", entry.failure_id)
    assert code == 0
    assert f"failure id         {entry.failure_id}" in out
    assert f"log lines of request {entry.request_id} in /aws/lambda/{transient_failure.function}" in out


def test_the_function_refuses_a_target_outside_its_allow_list_and_moves_nothing(
    stack: Stack, sqs_batch: SqsBatch
) -> None:
    dlq_url = stack.outputs["OrdersQueueDLQUrl"]
    report = stack.remote_invoke(
        REDRIVE_FUNCTION,
        {
            "source": {"type": "sqs_dlq", "queue_url": dlq_url},
            "target": {"queue_url": stack.outputs["OrderEventsSuccessQueueUrl"]},
            "dry_run": False,
            "requested_by": "e2e",
        },
    )
    assert report["status"] == "rejected"
    assert any("allow" in problem for problem in report["problems"]), report["problems"]
    assert stack.queue_depth(dlq_url) == 1


def test_the_command_line_tool_redrives_the_parked_message_back_to_its_queue(
    stack: Stack, sqs_batch: SqsBatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in stack.account.environment().items():
        monkeypatch.setenv(name, value)
    dlq_url, queue_url = stack.outputs["OrdersQueueDLQUrl"], stack.outputs["OrdersQueueUrl"]
    arguments = [
        "redrive",
        "--source-type",
        "sqs_dlq",
        "--queue-url",
        dlq_url,
        "--target-queue-url",
        queue_url,
    ]
    # A bound makes it move message by message: ministack has no StartMessageMoveTask, which a request
    # with no bound nor filter would use on AWS (tested with a Stubber in the handler tier).
    arguments += [
        "--max-messages",
        "10",
        "--json",
        "--endpoint-url",
        stack.account.url,
        "--region",
        "us-east-1",
    ]

    out = io.StringIO()
    assert dlq(arguments, out=out, err=io.StringIO()) == 0
    dry_run = RedriveReport.model_validate_json(out.getvalue())
    assert (dry_run.dry_run, dry_run.would_move, dry_run.moved) == (True, 1, 0)
    assert stack.queue_depth(dlq_url) == 1

    out = io.StringIO()
    err = io.StringIO()
    assert dlq([*arguments, "--execute"], out=out, err=err) == 0, err.getvalue()
    report = RedriveReport.model_validate_json(out.getvalue())
    assert (report.moved, report.failed) == (1, 0)
    # Sent back to its queue and gone from the DLQ: the function needs 2 receives, 10 s apart, to fail it again.
    assert stack.queue_depth(dlq_url) == 0
    # Still poison, so the function fails it again and SQS parks it again, unchanged: nothing is lost.
    parked = wait_for(
        "the poison message back in the DLQ",
        lambda: (
            stack.client("sqs").receive_message(QueueUrl=dlq_url, VisibilityTimeout=0).get("Messages") or None
        ),
        timeout_s=60,
    )
    assert [json.loads(message["Body"]) for message in parked] == [sqs_batch.parked_body]

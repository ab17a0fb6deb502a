"""`make demo`: the whole failure story on a local AWS account (ministack), told with real traffic.

    python -m demo            # what `make demo` runs, once the tool environments exist

Starts ministack on 127.0.0.1 (stopped by its PID at the end, on failure, or on Ctrl-C), builds and
deploys the application with the SAM CLI, then: an SQS batch with a poison message; an async event
that fails, is retried, reaches the OnFailure destination, the failure consumer and the ledger; the
operator's redrive, a dry run and then, once the cause is fixed, for real.
"""

import sys
import time
from typing import TextIO

from demo.ministack import Ministack, MinistackError, running_ministack
from demo.stack import DEMO_PARAMETERS, DeployError, Stack, deploy
from demo.story import (
    AsyncFailure,
    OrderState,
    Recovery,
    SqsBatch,
    StoryError,
    async_failure,
    poison_sqs_batch,
    redrive_async_failure,
)
from demo.tables import print_table


def _heading(out: TextIO, number: int, title: str) -> None:
    print(f"\n{number}. {title}\n{'-' * (len(title) + 3)}", file=out)


def _say(out: TextIO, *lines: str) -> None:
    for line in lines:
        print(f"   {line}", file=out)


def _table(out: TextIO, header: list[str], rows: list[list[str]]) -> None:
    print(file=out)
    print_table([[f"  {row[0]}", *row[1:]] for row in rows], out, header=[f"  {header[0]}", *header[1:]])
    print(file=out)


def tell_setup(out: TextIO, account: Ministack, stack: Stack, seconds: float) -> None:
    _heading(out, 1, "A local AWS account, and the application deployed to it")
    _say(
        out,
        f"ministack on {account.url} (pid {account.pid}; stopped at the end, whatever happens).",
        f"sam build + sam deploy: stack {stack.name}, in {seconds:.0f} s: the sample application and,",
        "nested in it as a user would include it, the toolkit (failure queue, consumer, ledger, redrive).",
        "The parameters:",
    )
    _table(out, ["parameter", "value"], [[key, value] for key, value in DEMO_PARAMETERS.items()])


def tell_sqs_batch(out: TextIO, batch: SqsBatch) -> None:
    _heading(out, 2, "An SQS batch with a poison message")
    applied = {state.order_id: state for state in batch.applied}
    rows = []
    for order_id, what in batch.sent:
        state = applied.get(order_id)
        where = (
            f"orders table: revision {state.revision}, {state.status}"
            if state
            else f"{batch.dlq}, after {batch.parked_receive_count} receives"
        )
        rows.append([order_id, what, where])
    _say(out, f"Sent {len(batch.sent)} messages to {batch.queue} in one SendMessageBatch:")
    _table(out, ["order", "message", "where it went"], rows)
    _say(
        out,
        "The function answered with batchItemFailures naming only the poison message: the good ones",
        "were deleted, it came back after the visibility timeout, and on its receive number",
        f"{batch.max_receive_count + 1} (maxReceiveCount {batch.max_receive_count}) SQS moved it to the DLQ instead. "
        f"{batch.seconds:.0f} s in all.",
    )


def tell_async_failure(out: TextIO, failure: AsyncFailure) -> None:
    _heading(out, 3, "An async event that fails: retries, OnFailure, the failure consumer, the ledger")
    entry = failure.entry
    order_id = failure.event["order_id"]
    _say(out, f"Invoked {failure.function} (InvocationType Event) with {order_id} revision 2 (OrderPaid),")
    _say(out, "whose revision 1 (OrderPlaced) never arrived: a transient failure, worth retrying.")
    _table(
        out,
        ["step", "what happened"],
        [
            [
                "attempts",
                f"{failure.attempts_logged} failed invocations in the function's log (the first + 2 retries)",
            ],
            [
                "OnFailure",
                f"a {entry.condition} record to the failure queue (approximateInvokeCount {entry.attempts})",
            ],
            ["consumer", "the failure consumer parsed it as an async invocation record and recorded it"],
            ["ledger", f"entry {entry.failure_id}"],
            ["  error", f"{entry.error_type}: {entry.error_message}"],
            ["  status", f"redrive {entry.redrive_status}, original event kept ({entry.body_location})"],
        ],
    )
    _say(out, f"{failure.seconds:.0f} s from the invoke to the ledger entry.")


def tell_recovery(out: TextIO, recovery: Recovery) -> None:
    _heading(out, 4, "The operator's redrive: sam remote invoke Toolkit/RedriveFunction")
    dry, real = recovery.dry_run, recovery.redrive

    def state(label: str, value: OrderState | None) -> list[str]:
        return [
            label,
            "no order yet"
            if value is None
            else f"{value.order_id} at revision {value.revision}, {value.status}",
        ]

    _table(
        out,
        ["step", "result"],
        [
            [
                "dry run",
                f"{dry.status}: read {dry.received}, would invoke {dry.would_move}, moved {dry.moved}",
            ],
            *[["  would", f"{g.count} x {g.function} ({g.condition}, {g.error_type})"] for g in dry.groups],
            state("  order", recovery.state_after_dry_run),
            ["fix the cause", "the producer re-publishes the missing OrderPlaced (revision 1)"],
            state("  order", recovery.state_after_fix),
            ["redrive", f"{real.status}: moved {real.moved}, failed {real.failed}, by {real.requested_by}"],
            state("  order", recovery.state_after_redrive),
            [
                "  ledger",
                f"redrive {recovery.entry_after.redrive_status}, {recovery.entry_after.redrive_count} time(s)",
            ],
        ],
    )
    _say(out, f"{recovery.seconds:.0f} s for the dry run, the fix and the redrive.")


def tell_summary(
    out: TextIO, batch: SqsBatch, failure: AsyncFailure, recovery: Recovery, seconds: float
) -> None:
    _heading(out, 5, "Summary")
    _table(
        out,
        ["failure", "where it went", "how it comes back"],
        [
            [
                "SQS poison message",
                f"{batch.dlq} after {batch.max_receive_count} receives",
                "fix the producer; 'dlq redrive --source-type sqs_dlq --queue-url <DLQ>' (dry run until --execute)",
            ],
            [
                "async event, retries exhausted",
                f"failure queue -> ledger ({failure.entry.redrive_status.value} at first)",
                f"redriven: order {recovery.state_after_redrive.order_id} now {recovery.state_after_redrive.status}",
            ],
        ],
    )
    _say(
        out,
        "Not shown here, because ministack does not model it: Kinesis and DynamoDB Streams failure",
        "handling (ReportBatchItemFailures, bisect, retries, OnFailure). The handler, template and",
        "sam local invoke tests cover it; see the README's failure-handling matrix.",
        f"Done in {seconds:.0f} s; ministack is stopped next.",
    )


def main(out: TextIO = sys.stdout) -> int:
    started = time.monotonic()
    print("Lambda failure toolkit: the failure story on a local AWS account (ministack)", file=out)
    try:
        with running_ministack() as account:
            deploying = time.monotonic()
            stack = deploy(account)
            tell_setup(out, account, stack, time.monotonic() - deploying)
            out.flush()
            batch = poison_sqs_batch(stack)
            tell_sqs_batch(out, batch)
            out.flush()
            failure = async_failure(stack)
            tell_async_failure(out, failure)
            out.flush()
            recovery = redrive_async_failure(stack, failure)
            tell_recovery(out, recovery)
            tell_summary(out, batch, failure, recovery, time.monotonic() - started)
    except (MinistackError, DeployError, StoryError) as error:
        print(f"\ndemo failed: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted; ministack stopped.", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

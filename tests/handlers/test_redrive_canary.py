"""A canary redrive (`canary`, `canary_wait_s`) and the failure-rate stop (`max_failure_rate`): the
engine against moto queues and ledger, a Lambda double, and a clock that moves only when it sleeps."""

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from lambda_failure_toolkit.cli.dlq import main
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import LedgerEntry, RedriveStatus
from lambda_failure_toolkit.ledger.wiring import failure_ledger
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.report import RedriveReport
from lambda_failure_toolkit.redrive.request import parse_redrive_request
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from lambda_failure_toolkit.retry import Deadline
from tests.handlers.conftest import handler_module
from tests.lambda_context import FakeLambdaContext
from tests.redrive_support import ARN, FakeLambda, FunctionFailed, Queues, client_error

FUNCTION = "order-events-test"
NOW = datetime.now(UTC)


class Clock:
    """Time passes only when the engine sleeps; `on_sleep` is what the world does meanwhile."""

    def __init__(self, on_sleep: Callable[[], None] = lambda: None) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._on_sleep = on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
        self._on_sleep()


def engine(allowed: RedriveTargets, *, lambda_client: Any = None, clock: Clock | None = None) -> Redrive:
    clock = clock or Clock()
    return Redrive(
        sqs=boto3.client("sqs"),
        lambda_client=lambda_client or FakeLambda(),
        ledger=failure_ledger(),
        targets=allowed,
        wait_time_s=0,
        margin_s=1,
        clock=clock,
        sleep=clock.sleep,
    )


def redrive(raw: dict[str, Any], allowed: RedriveTargets, **options: Any) -> RedriveReport:
    request = parse_redrive_request(raw | {"dry_run": False}, allowed)
    return engine(allowed, **options).run(
        request, deadline=Deadline.after(600, clock=options.get("clock") or Clock())
    )


def record_entries(count: int) -> list[str]:
    ledger = failure_ledger()
    ids = []
    for number in range(count):
        entry = LedgerEntry(
            failure_id=f"async-{number:032x}",
            kind=FailureKind.ASYNC,
            condition="RetriesExhausted",
            function_name=FUNCTION,
            function_arn=ARN.format(FUNCTION) + ":live",
            qualifier="live",
            occurred_at=NOW - timedelta(minutes=count - number),
            recorded_at=NOW,
            payload={"order_id": f"o-{number}"},
            has_payload=True,
        )
        ledger.record(entry)
        ids.append(entry.failure_id)
    return ids


FUNCTIONS = RedriveTargets(functions=frozenset({FUNCTION}))
BY_FILTER = {"source": {"type": "ledger", "filter": {"function_name": FUNCTION}}}


def status(failure_id: str) -> RedriveStatus:
    return failure_ledger().get(failure_id).redrive_status


# ---------------------------------------------------------------- a function target


def test_a_canary_that_fails_stops_the_run_with_nothing_else_touched(aws: dict[str, Any]) -> None:
    # Given five failures of a function whose bug is not fixed
    ids = record_entries(5)
    invoked = FakeLambda(lambda call: FunctionFailed("KeyError: 'amount'"))

    # When they are redriven with a canary of two
    report = redrive(BY_FILTER | {"canary": 2}, FUNCTIONS, lambda_client=invoked)

    # Then only the two were invoked, synchronously, on the same qualifier, and the run stopped there
    assert [call["InvocationType"] for call in invoked.calls] == ["RequestResponse"] * 2
    assert {call.get("Qualifier") or call["FunctionName"].rsplit(":", 1)[1] for call in invoked.calls} == {
        "live"
    }
    assert report.status.value == "stopped"
    assert report.canary is not None
    assert not report.canary.passed
    assert report.canary.verdict == "2 of the canary's 2 failed"
    assert "the function failed (Unhandled): KeyError: 'amount'" in report.canary.outcomes[0]
    assert len(report.canary.outcomes) == 2  # each delivery once
    assert report.stopped_because == "the canary failed: 2 of the canary's 2 failed"
    assert report.moved == 0
    # and every entry is still pending: none was marked, the three others not even tried
    assert {status(failure_id) for failure_id in ids} == {RedriveStatus.PENDING}


def test_a_canary_that_succeeds_lets_the_rest_go_asynchronously(aws: dict[str, Any]) -> None:
    ids = record_entries(5)
    invoked = FakeLambda(lambda call: {"ok": True})

    report = redrive(BY_FILTER | {"canary": 2}, FUNCTIONS, lambda_client=invoked)

    # The canary's two waited for the answer, the rest were queued as before (Event), once each
    assert [call["InvocationType"] for call in invoked.calls] == ["RequestResponse"] * 2 + ["Event"] * 3
    assert sorted(json.loads(c["Payload"])["order_id"] for c in invoked.calls) == [f"o-{n}" for n in range(5)]
    assert (report.status.value, report.moved, report.failed) == ("complete", 5, 0)
    assert report.canary is not None
    assert report.canary.passed
    assert 'succeeded, answered {"ok": true}' in report.canary.outcomes[0]
    assert {status(failure_id) for failure_id in ids} == {RedriveStatus.REDRIVEN}


def test_a_canary_by_ids_goes_on_with_the_ids_it_did_not_take(aws: dict[str, Any]) -> None:
    ids = record_entries(3)
    invoked = FakeLambda()
    report = redrive(
        {"source": {"type": "ledger", "failure_ids": ids}, "canary": 1}, FUNCTIONS, lambda_client=invoked
    )
    # the canary first, alone and synchronously; the rest after it, in any order the workers take
    first, *rest = [(json.loads(c["Payload"])["order_id"], c["InvocationType"]) for c in invoked.calls]
    assert first == ("o-0", "RequestResponse")
    assert sorted(rest) == [("o-1", "Event"), ("o-2", "Event")]
    assert report.moved == 3


# ---------------------------------------------------------------- a queue target


def orders_allowed(queues: Queues, source: str) -> RedriveTargets:
    return RedriveTargets(queues=frozenset({queues.arn(source)}))


def test_a_queue_canary_whose_messages_stay_in_the_target_fails_after_the_wait(
    queues: Queues, orders: tuple[str, str]
) -> None:
    # Given four orders in the DLQ, and a source queue nobody consumes
    source, dlq = orders
    queues.put(dlq, [json.dumps({"order_id": f"o-{n}"}) for n in range(4)])
    clock = Clock()

    # When they are redriven with a canary of one that may wait 30 s
    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "canary": 1, "canary_wait_s": 30},
        orders_allowed(queues, source),
        clock=clock,
    )

    # Then after 30 s the canary failed: the other three never left the DLQ
    assert report.canary is not None
    assert not report.canary.passed
    assert "still in the target queue after 30 s (1 in" in report.canary.verdict
    assert report.status.value == "stopped"
    assert sum(clock.slept) == pytest.approx(30)
    assert len(queues.bodies(source)) == 1
    assert len(queues.bodies(dlq)) == 3


def test_a_queue_canary_consumed_lets_the_rest_go(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [json.dumps({"order_id": f"o-{n}"}) for n in range(4)])
    consumed: list[str] = []
    clock = Clock(on_sleep=lambda: consumed.extend(queues.bodies(source)))  # a consumer, between two looks

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "canary": 1, "max_messages": 100},
        orders_allowed(queues, source),
        clock=clock,
    )

    assert report.canary is not None
    assert report.canary.passed, report.canary.verdict
    assert report.canary.verdict == "the canary's 1 message(s) left the target queue and none came back"
    assert len(consumed) == 1
    assert (report.moved, report.status.value) == (4, "complete")
    assert len(queues.bodies(source)) == 3
    assert queues.bodies(dlq) == []


def test_a_queue_canary_that_comes_back_to_the_dlq_fails(queues: Queues, orders: tuple[str, str]) -> None:
    source, dlq = orders
    queues.put(dlq, [json.dumps({"order_id": f"o-{n}"}) for n in range(3)])

    def fails_again() -> None:  # the consumer fails it until SQS dead-letters it again
        for body in queues.bodies(source):
            queues.put(dlq, [body])

    report = redrive(
        {"source": {"type": "sqs_dlq", "queue_url": dlq}, "canary": 1, "max_messages": 100},
        orders_allowed(queues, source),
        clock=Clock(on_sleep=fails_again),
    )

    assert report.canary is not None
    assert not report.canary.passed
    assert report.canary.verdict.startswith("the canary's messages came back to the DLQ (1 in")
    assert len(queues.bodies(dlq)) == 3  # the two never sent, and the canary back


# ---------------------------------------------------------------- the failure-rate stop


def refusing_one_in(every: int) -> FakeLambda:
    """A target that refuses the last of each `every` events it is sent, in the order they come."""
    calls = iter(range(1000))

    def one_in(call: dict[str, Any]) -> None:
        if next(calls) % every == every - 1:
            raise client_error("InvalidRequestContentException", "refused")

    return FakeLambda(one_in)


def test_the_failure_rate_stops_the_run_by_itself(aws: dict[str, Any]) -> None:
    # Given twenty failures, and a target that refuses every other event
    record_entries(20)
    invoked = refusing_one_in(2)

    # When redriven one at a time with at most 30% failures allowed
    report = redrive(
        BY_FILTER | {"max_failure_rate": 0.3, "concurrency": 1}, FUNCTIONS, lambda_client=invoked
    )

    # Then the run stopped after the first ten (half of them failed), saying why, and says how to go on
    assert len(invoked.calls) == 10
    assert (report.moved, report.failed, report.status.value) == (5, 5, "stopped")
    assert report.stopped_because is not None
    assert report.stopped_because.startswith("the failure rate: 5 of 10 deliveries failed at the target (50%")
    assert report.next_request is not None


def test_with_several_workers_the_failure_rate_stops_after_those_in_flight(aws: dict[str, Any]) -> None:
    """Deliveries already in flight when the rate is crossed finish, and are counted."""
    record_entries(20)
    invoked = refusing_one_in(2)
    report = redrive(
        BY_FILTER | {"max_failure_rate": 0.3, "concurrency": 4}, FUNCTIONS, lambda_client=invoked
    )

    assert report.status.value == "stopped"
    # The rate is judged at each refusal once ten deliveries are done; the other workers' deliveries
    # in flight then finish. How many went past the tenth depends on which worker finished first.
    assert 10 <= len(invoked.calls) < 20
    assert report.moved + report.failed == len(invoked.calls)
    assert report.next_request is not None


def test_a_failure_rate_under_the_threshold_does_not_stop(aws: dict[str, Any]) -> None:
    record_entries(12)
    report = redrive(BY_FILTER | {"max_failure_rate": 0.3}, FUNCTIONS, lambda_client=refusing_one_in(6))
    assert (report.moved, report.failed, report.status.value) == (10, 2, "complete")


# ---------------------------------------------------------------- the command line and the function


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--canary", "0"], "canary: Input should be greater than or equal to 1"),
        (["--canary", "two"], "--canary: not a whole number: 'two'"),
        (["--max-failure-rate", "1.5"], "max_failure_rate: Input should be less than 1"),
        (
            ["--canary-wait", "3600", "--canary", "1"],
            "canary_wait_s: Input should be less than or equal to 900",
        ),
        (["--canary", "1", "--keep-source"], "with keep_source the copies it made would be sent again"),
    ],
)
def test_bad_canary_options_are_refused_before_anything_moves(
    queues: Queues, orders: tuple[str, str], options: list[str], says: str
) -> None:
    _, dlq = orders
    queues.put(dlq, ['{"order_id": "o-1"}'])
    code, _, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--execute", *options)
    assert code == 2
    assert says in err
    assert queues.bodies(dlq) == ['{"order_id": "o-1"}']


def test_the_command_shows_the_canary(queues: Queues, orders: tuple[str, str]) -> None:
    _, dlq = orders
    queues.put(dlq, ['{"order_id": "o-1"}'])
    code, out, _ = run(
        "redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--execute", "--canary", "1", "--canary-wait", "0.01"
    )  # fmt: skip
    assert code == 1
    assert "canary of 1: FAILED: the canary's messages were still in the target queue after 0 s" in out
    assert "nothing else was touched" in out
    # a dry run sends nothing, so it has no canary to wait for, and says so
    code, out, err = run("redrive", "--source-type", "sqs_dlq", "--queue-url", dlq, "--canary", "1")
    assert (code, "canary of" in out) == (0, False)
    assert "a dry run sends nothing, so there is no canary to wait for" in err


def test_the_redrive_function_takes_the_same_options(redrive_aws: dict[str, Any]) -> None:
    handler = handler_module("RedriveFunction")
    base = {"source": {"type": "ledger", "failure_ids": ["async-" + "0" * 32]}}
    bad = {"canary": 0, "max_failure_rate": 2, "max_replays": 0}
    refused = handler.lambda_handler(base | bad, FakeLambdaContext())
    assert refused["status"] == "rejected"
    assert sorted(problem.split(":")[0] for problem in refused["problems"]) == sorted(bad)
    good = {"canary": 1, "max_failure_rate": 0.5, "max_replays": 3}
    accepted = handler.lambda_handler(base | good, FakeLambdaContext())
    assert accepted["status"] == "complete"  # a dry run: the canary applies to a real run
    assert accepted["canary"] is None

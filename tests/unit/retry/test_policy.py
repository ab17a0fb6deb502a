import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError
from hypothesis import given
from hypothesis import strategies as st

from lambda_failure_toolkit.retry import (
    Deadline,
    ErrorClass,
    PoisonRecordError,
    RetryPolicy,
    current_deadline,
    deadline_scope,
    with_invocation_deadline,
)


@dataclass
class FakeClock:
    """A monotonic clock that only moves when something sleeps or works: no real time passes."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def throttled() -> ClientError:
    return ClientError(
        {"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "PutRecords"
    )


def denied() -> ClientError:
    return ClientError(
        {"Error": {"Code": "AccessDenied"}, "ResponseMetadata": {"HTTPStatusCode": 403}}, "Invoke"
    )


class Flaky:
    """Fails with the given errors in turn, then returns 'done'; each call takes `work_s` of clock time."""

    def __init__(
        self, errors: list[BaseException], clock: FakeClock | None = None, work_s: float = 0.0
    ) -> None:
        self.errors = list(errors)
        self.calls = 0
        self.clock = clock
        self.work_s = work_s

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        self.calls += 1
        if self.clock is not None:
            self.clock.now += self.work_s
        if self.errors:
            raise self.errors.pop(0)
        return "done"


def retrying_call(policy: RetryPolicy, fn: Callable[[], str], clock: FakeClock, deadline: Deadline) -> str:
    return policy.retrying(deadline=deadline, sleep=clock.sleep, rng=random.Random(7))(fn)


def test_transient_errors_are_retried_until_success() -> None:
    clock = FakeClock()
    flaky = Flaky([throttled(), throttled()])
    assert retrying_call(RetryPolicy(max_attempts=4), flaky, clock, Deadline.never()) == "done"
    assert flaky.calls == 3
    assert len(clock.sleeps) == 2


@pytest.mark.parametrize("error", [denied(), PoisonRecordError("bad order"), ValueError("bug")])
def test_permanent_and_poison_errors_are_not_retried(error: BaseException) -> None:
    clock = FakeClock()
    flaky = Flaky([error])
    with pytest.raises(type(error)) as raised:
        retrying_call(RetryPolicy(), flaky, clock, Deadline.never())
    assert raised.value is error
    assert flaky.calls == 1
    assert clock.sleeps == []


def test_retry_on_can_include_permanent_errors() -> None:
    clock = FakeClock()
    flaky = Flaky([denied()])
    policy = RetryPolicy(retry_on=frozenset({ErrorClass.TRANSIENT, ErrorClass.PERMANENT}))
    assert retrying_call(policy, flaky, clock, Deadline.never()) == "done"


def test_after_the_last_attempt_the_last_error_itself_is_raised() -> None:
    clock = FakeClock()
    errors = [throttled() for _ in range(3)]
    flaky = Flaky(list(errors))
    with pytest.raises(ClientError) as raised:
        retrying_call(RetryPolicy(max_attempts=3), flaky, clock, Deadline.never())
    assert raised.value is errors[-1]
    assert flaky.calls == 3
    assert len(clock.sleeps) == 2


def test_no_sleep_that_would_reach_the_deadline_starts() -> None:
    # Given 0.25 s left and sleeps drawn up to 10 s
    clock = FakeClock()
    deadline = Deadline.after(0.25, clock=clock)
    flaky = Flaky([throttled() for _ in range(50)])
    policy = RetryPolicy(max_attempts=50, base_delay_s=10, max_delay_s=10)
    # When the call keeps being throttled
    with pytest.raises(ClientError):
        retrying_call(policy, flaky, clock, deadline)
    # Then it stopped before the deadline with the real error
    assert clock.now < 1000.25
    assert all(s < 0.25 for s in clock.sleeps)


@given(
    remaining_s=st.floats(0, 30),
    work_s=st.floats(0, 2),
    base_s=st.floats(0.001, 2),
    cap_factor=st.floats(1, 50),
    attempts=st.integers(1, 40),
    seed=st.integers(0, 2**32),
)
def test_sleeping_never_passes_the_deadline(  # noqa: PLR0917 -- one argument per hypothesis strategy
    remaining_s: float, work_s: float, base_s: float, cap_factor: float, attempts: int, seed: int
) -> None:
    clock = FakeClock()
    deadline_at = clock.now + remaining_s
    deadline = Deadline(deadline_at, clock=clock)
    flaky = Flaky([throttled() for _ in range(attempts)], clock=clock, work_s=work_s)
    policy = RetryPolicy(max_attempts=attempts, base_delay_s=base_s, max_delay_s=base_s * cap_factor)
    woke_at: list[float] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        woke_at.append(clock.now)

    with pytest.raises(ClientError):
        policy.retrying(deadline=deadline, sleep=sleep, rng=random.Random(seed))(flaky)
    # Every sleep ended before the deadline, and only full-jitter sleeps were drawn.
    assert all(t < deadline_at for t in woke_at)
    for attempt, slept in enumerate(clock.sleeps, start=1):
        assert 0 <= slept <= min(base_s * cap_factor, base_s * 2 ** (attempt - 1))


def test_sleeps_follow_full_jitter_exponential_bounds() -> None:
    clock = FakeClock()
    flaky = Flaky([throttled() for _ in range(9)])
    policy = RetryPolicy(max_attempts=10, base_delay_s=0.1, max_delay_s=2.0)
    retrying_call(policy, flaky, clock, Deadline.never())
    ceilings = [min(2.0, 0.1 * 2**i) for i in range(9)]
    assert len(clock.sleeps) == 9
    assert all(0 <= s <= c for s, c in zip(clock.sleeps, ceilings, strict=True))
    # Full jitter, not equal jitter: sleeps are not pinned near their ceilings.
    assert min(s / c for s, c in zip(clock.sleeps, ceilings, strict=True)) < 0.5


def test_deadline_from_lambda_context_keeps_a_margin() -> None:
    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return 30_000

    clock = FakeClock()
    deadline = Deadline.from_lambda_context(Context(), margin_s=2.5, clock=clock)
    assert deadline.remaining() == pytest.approx(27.5)
    clock.now += 30
    assert deadline.remaining() == 0.0


def test_invocation_deadline_middleware_scopes_the_deadline_to_the_invocation(mocker: Any) -> None:
    context = mocker.Mock()
    context.get_remaining_time_in_millis.return_value = 10_000
    seen: list[float] = []

    @with_invocation_deadline(margin_s=3)
    def handler(event: dict[str, Any], ctx: Any) -> str:
        seen.append(current_deadline().remaining())
        return "ok"

    assert handler({}, context) == "ok"
    assert 6.9 < seen[0] <= 7.0
    assert current_deadline().remaining() == float("inf")


def test_decorator_reads_the_deadline_at_call_time() -> None:
    clock = FakeClock()
    flaky = Flaky([throttled() for _ in range(10)])
    policy = RetryPolicy(max_attempts=10, base_delay_s=1, max_delay_s=1)
    # Decorated with no deadline in force...
    decorated = policy(flaky)
    # ...then called inside an invocation whose deadline has come: no sleep fits, so one attempt only.
    with deadline_scope(Deadline.after(0.0, clock=clock)), pytest.raises(ClientError):
        decorated()
    assert flaky.calls == 1


def test_call_and_inline_forms(mocker: Any) -> None:
    slept = mocker.patch("lambda_failure_toolkit.retry.policy.time.sleep")
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.01)
    assert policy.call(Flaky([throttled()]), "positional", keyword=1) == "done"

    flaky = Flaky([throttled(), throttled()])
    result = None
    for attempt in policy.retrying():
        with attempt:
            result = flaky()
    assert result == "done"
    assert flaky.calls == 3
    assert slept.call_count == 3


def test_each_retry_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    with caplog.at_level(logging.WARNING, logger="lambda_failure_toolkit.retry.policy"):
        retrying_call(RetryPolicy(), Flaky([throttled()]), clock, Deadline.never())
    [entry] = caplog.records
    assert entry.getMessage() == "retrying after a transient error"
    assert entry.__dict__["attempt"] == 1
    assert entry.__dict__["error_type"] == "ClientError"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_attempts": 0}, "max_attempts must be at least 1"),
        ({"base_delay_s": 0}, "0 < base_delay_s <= max_delay_s"),
        ({"base_delay_s": 5, "max_delay_s": 1}, "0 < base_delay_s <= max_delay_s"),
    ],
)
def test_bad_policy_is_refused_clearly(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**kwargs)


def test_retry_if_replaces_the_classification() -> None:
    clock = FakeClock()
    # An outer policy that must not retry throttling (its inner calls already did).
    policy = RetryPolicy(retry_if=lambda error: isinstance(error, KeyError))
    flaky = Flaky([throttled()])
    with pytest.raises(ClientError):
        retrying_call(policy, flaky, clock, Deadline.never())
    assert flaky.calls == 1
    retried = Flaky([KeyError("not yet")])
    assert retrying_call(policy, retried, clock, Deadline.never()) == "done"
    assert retried.calls == 2


@given(remaining_s=st.floats(0, 5), attempts=st.integers(1, 12), seed=st.integers(0, 2**32))
def test_call_retries_like_the_tenacity_loop_and_never_passes_the_deadline(
    remaining_s: float, attempts: int, seed: int
) -> None:
    # `call` runs the first attempt without tenacity; a retryable failure is replayed into it.
    from unittest import mock

    clock = FakeClock()
    deadline_at = clock.now + remaining_s
    flaky = Flaky([throttled() for _ in range(attempts)], clock=clock, work_s=0.05)
    policy = RetryPolicy(max_attempts=attempts, base_delay_s=0.2, max_delay_s=2.0)
    woke_at: list[float] = []

    def sleep(seconds: float) -> None:
        clock.sleep(seconds)
        woke_at.append(clock.now)

    with (
        mock.patch("lambda_failure_toolkit.retry.policy.time.sleep", side_effect=sleep),
        mock.patch("lambda_failure_toolkit.retry.policy._JITTER", random.Random(seed)),
        deadline_scope(Deadline(deadline_at, clock=clock)),
        pytest.raises(ClientError),
    ):
        policy.call(flaky)
    assert all(t < deadline_at for t in woke_at)
    assert all(s <= min(2.0, 0.2 * 2**i) for i, s in enumerate(clock.sleeps))
    assert flaky.calls == len(clock.sleeps) + 1


def test_call_on_success_is_one_plain_call(mocker: Any) -> None:
    retrying = mocker.spy(RetryPolicy, "retrying")
    flaky = Flaky([])
    assert RetryPolicy().call(flaky) == "done"
    assert flaky.calls == 1
    retrying.assert_not_called()


def test_call_does_not_retry_what_it_should_not(mocker: Any) -> None:
    retrying = mocker.spy(RetryPolicy, "retrying")
    flaky = Flaky([denied()])
    with pytest.raises(ClientError):
        RetryPolicy().call(flaky)
    assert flaky.calls == 1
    retrying.assert_not_called()


def test_retry_log_of_call_names_the_operation(mocker: Any, caplog: pytest.LogCaptureFixture) -> None:
    mocker.patch("lambda_failure_toolkit.retry.policy.time.sleep")
    errors = [throttled()]

    def send_order_batch() -> str:
        if errors:
            raise errors.pop()
        return "sent"

    with caplog.at_level(logging.WARNING, logger="lambda_failure_toolkit.retry.policy"):
        assert RetryPolicy().call(send_order_batch) == "sent"
    [entry] = caplog.records
    assert entry.__dict__["operation"].endswith("send_order_batch")

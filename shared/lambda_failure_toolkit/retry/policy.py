"""Retry policies on tenacity: exponential backoff with full jitter that never sleeps past a deadline.

    policy = RetryPolicy(max_attempts=4)

    @policy                                   # decorator
    def put(item): ...

    policy.call(table.put_item, Item=item)    # one call

    for attempt in policy.retrying():         # a block
        with attempt:
            ...

The deadline is the Lambda invocation's remaining time minus a margin. Handlers set it once with
`@with_invocation_deadline` (or `deadline_scope`); every retry inside the invocation then stops
rather than sleep past it, and re-raises the last error so the caller reports it in time.
The deadline is a context variable, which worker threads do not inherit: in a thread pool, pass
`retrying(deadline=...)` explicitly or submit `contextvars.copy_context().run`.
"""

import functools
import logging
import math
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from lambda_failure_toolkit.retry.classification import ErrorClass, classify

__all__ = [
    "DEFAULT_DEADLINE_MARGIN_S",
    "Deadline",
    "RetryPolicy",
    "current_deadline",
    "deadline_scope",
    "with_invocation_deadline",
]

logger = logging.getLogger(__name__)

_JITTER = random.Random()  # noqa: S311 -- jitter, not cryptography

DEFAULT_DEADLINE_MARGIN_S = 1.0
"""Time kept back at the end of an invocation to report failures and flush metrics."""


class _RemainingTime(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


class Deadline:
    """A moment on a monotonic clock past which nothing may sleep."""

    __slots__ = ("_at", "_clock")

    def __init__(self, at: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._at = at
        self._clock = clock

    @classmethod
    def after(cls, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> "Deadline":
        return cls(clock() + seconds, clock=clock)

    @classmethod
    def from_lambda_context(
        cls,
        context: _RemainingTime,
        *,
        margin_s: float = DEFAULT_DEADLINE_MARGIN_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> "Deadline":
        return cls.after(context.get_remaining_time_in_millis() / 1000 - margin_s, clock=clock)

    @classmethod
    def never(cls) -> "Deadline":
        return cls(math.inf)

    def remaining(self) -> float:
        """Seconds left, never negative."""
        return max(0.0, self._at - self._clock())


_current_deadline: ContextVar[Deadline | None] = ContextVar("invocation_deadline", default=None)


def current_deadline() -> Deadline:
    """The deadline set for this invocation, or none at all outside one."""
    return _current_deadline.get() or Deadline.never()


@contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[Deadline]:
    token = _current_deadline.set(deadline)
    try:
        yield deadline
    finally:
        _current_deadline.reset(token)


Handler = Callable[..., Any]


@overload
def with_invocation_deadline(handler: Handler, /) -> Handler: ...
@overload
def with_invocation_deadline(
    *, margin_s: float = DEFAULT_DEADLINE_MARGIN_S
) -> Callable[[Handler], Handler]: ...
def with_invocation_deadline(
    handler: Handler | None = None, /, *, margin_s: float = DEFAULT_DEADLINE_MARGIN_S
) -> Handler | Callable[[Handler], Handler]:
    """Handler decorator: every retry in the invocation stops `margin_s` before its timeout.

    `@with_invocation_deadline` or `@with_invocation_deadline(margin_s=2.0)`. Keyword arguments of
    the handler (collaborators passed by tests) go through untouched.
    """

    def decorate(inner: Handler) -> Handler:
        @functools.wraps(inner)
        def within_deadline(event: Any, context: Any, **kwargs: Any) -> Any:
            with deadline_scope(Deadline.from_lambda_context(context, margin_s=margin_s)):
                return inner(event, context, **kwargs)

        return within_deadline

    return decorate if handler is None else decorate(handler)


class _FullJitter(wait_base):
    """AWS's "full jitter": a uniform sleep in [0, min(cap, base * 2 ** (attempt - 1))]."""

    def __init__(self, base_s: float, cap_s: float, rng: random.Random) -> None:
        self._base_s = base_s
        self._cap_s = cap_s
        self._rng = rng

    def __call__(self, retry_state: RetryCallState) -> float:
        exponent = min(retry_state.attempt_number - 1, 62)
        return self._rng.uniform(0.0, min(self._cap_s, self._base_s * 2**exponent))


class _StopBeforeDeadline(stop_base):
    """Stop instead of starting a sleep that would end at or past the deadline.

    tenacity computes the next sleep before asking whether to stop, so `upcoming_sleep` is known.
    """

    def __init__(self, deadline: Deadline) -> None:
        self._deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.upcoming_sleep >= self._deadline.remaining()


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    logger.warning(
        "retrying after a transient error",
        extra={
            "attempt": retry_state.attempt_number,
            "sleep_s": round(retry_state.upcoming_sleep, 3),
            "error_type": type(error).__name__,
            "operation": retry_state.get_fn_name() if retry_state.fn else None,
        },
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How many times, how long apart, and for which kinds of error to retry a call.

    Defaults suit a call to an AWS API inside a Lambda invocation: 4 attempts, sleeps drawn from
    [0, 0.1 s], [0, 0.2 s], [0, 0.4 s], capped at 5 s; only transient errors are retried.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.1
    max_delay_s: float = 5.0
    retry_on: frozenset[ErrorClass] = field(default_factory=lambda: frozenset({ErrorClass.TRANSIENT}))
    retry_if: Callable[[BaseException], bool] | None = None
    """Replaces the `retry_on` classification: e.g. an outer retry that must not retry what an inner
    one (an adapter's AWS calls) already retried."""
    sleep: Callable[[float], None] | None = None
    """How to wait between attempts (default `time.sleep`): a caller on its own clock passes its own."""

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts}")
        if not 0 < self.base_delay_s <= self.max_delay_s:
            raise ValueError(
                f"delays must satisfy 0 < base_delay_s <= max_delay_s, got {self.base_delay_s} and {self.max_delay_s}"
            )

    def should_retry(self, error: BaseException) -> bool:
        """Whether `error` is worth another attempt: `retry_if`, or else its class in `retry_on`."""
        return self.retry_if(error) if self.retry_if else classify(error) in self.retry_on

    def retrying(
        self,
        *,
        deadline: Deadline | None = None,
        sleep: Callable[[float], None] | None = None,
        rng: random.Random | None = None,
    ) -> Retrying:
        """A tenacity `Retrying` for this policy, bounded by `deadline` (default: the invocation's)."""
        return Retrying(
            stop=stop_after_attempt(self.max_attempts) | _StopBeforeDeadline(deadline or current_deadline()),
            wait=_FullJitter(self.base_delay_s, self.max_delay_s, rng or _JITTER),
            retry=retry_if_exception(self.should_retry),
            sleep=sleep or self.sleep or time.sleep,
            before_sleep=_log_retry,
            reraise=True,
        )

    def call[**P, R](self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call `fn` under this policy; the last error is re-raised when retries stop.

        The first attempt is a plain call: tenacity's machinery costs tens of microseconds, too
        much to pay on every successful call of a per-record path. A retryable failure hands over
        to tenacity, which sees that failure replayed as its own first attempt, so waits, the
        deadline and logging follow from one place.
        """
        try:
            return fn(*args, **kwargs)
        except Exception as error:
            if not self.should_retry(error):
                raise
            first_failure: list[Exception] = [error]

        @functools.wraps(fn)  # retry logs name the operation, not this closure
        def attempt() -> R:
            if first_failure:
                raise first_failure.pop()
            return fn(*args, **kwargs)

        return self.retrying()(attempt)

    def __call__[**P, R](self, fn: Callable[P, R]) -> Callable[P, R]:
        """Use the policy as a decorator; the deadline is read at each call, not at decoration."""

        @functools.wraps(fn)
        def retried(*args: P.args, **kwargs: P.kwargs) -> R:
            return self.call(fn, *args, **kwargs)

        return retried

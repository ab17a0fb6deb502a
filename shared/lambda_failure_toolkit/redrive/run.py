"""One run's clock, rate and tally: what its workers share, and what each source kind answers with.

`RunState` is the run's deadline and stop, its `max_messages` budget, the messages it holds
invisible, the FIFO groups a failure closed, and its `Tally`. `RateLimit` spaces what it sends.
`Services` are the engine's collaborators, the same for every run; `Outcome` is what a source kind
returns to the engine, which makes it the report (or `RedriveSourceError`: nothing was touched).
`in_workers` runs a source kind's worker at the request's concurrency.
"""

import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import JsonValue

from lambda_failure_toolkit.ledger import FailureLedger
from lambda_failure_toolkit.redrive.report import MoveTask, Progress, RunStatus, Tally
from lambda_failure_toolkit.redrive.request import RedriveRequest
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from lambda_failure_toolkit.retry import Deadline, RetryPolicy, error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

    from lambda_failure_toolkit.redrive.backup import Backup

__all__ = [
    "AWS_ERRORS",
    "MAX_MESSAGES_REACHED",
    "MIN_RATE_SAMPLE",
    "Log",
    "Outcome",
    "RateLimit",
    "RedriveSourceError",
    "RunState",
    "Services",
    "in_workers",
    "reason",
]

MIN_RATE_SAMPLE: Final = 10
"""Deliveries tried before `max_failure_rate` may stop a run: one failure of the first two is not a rate."""
MAX_MESSAGES_REACHED: Final = "max_messages"
"""`stopped_because` of a run that did what it was asked: it is complete, not stopped."""


class RedriveSourceError(ValueError):
    """The source (or the target override) cannot be used: nothing was touched."""


class Log(Protocol):
    """Where runs are audited and problems logged: Powertools' Logger in the function."""

    def info(self, msg: str, *args: Any, **kwargs: Any) -> None: ...
    def warning(self, msg: str, *args: Any, **kwargs: Any) -> None: ...


@dataclass(frozen=True, slots=True)
class Services:
    """The engine's collaborators, the same for every run."""

    sqs: "SQSClient"
    lambda_client: "LambdaClient"
    ledger: FailureLedger | None
    targets: RedriveTargets
    restrict: bool
    """Whether a failure's own target must be in `targets` too (the function's case)."""
    identity: Callable[[], str]
    """What a Kinesis record sent to its processor says invoked it."""
    retry: RetryPolicy
    wait_time_s: int
    clock: Callable[[], float]
    sleep: Callable[[float], None]
    now: Callable[[], datetime]
    log: Log
    backup: "Backup | None" = None
    """Where a real run writes each message before it delivers it (`dlq redrive --backup`)."""

    def call(self, fn: Callable[..., Any], /, **kwargs: Any) -> Any:
        """One AWS call, transient errors retried with backoff (on the run's clock) within its deadline."""
        return self.retry.call(fn, **kwargs)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a source kind did, besides the tally: the report's other fields."""

    method: Literal["manual", "start_message_move_task", "ledger"]
    status: RunStatus | None = None
    """None: complete, or stopped when the run stopped early."""
    stopped_because: str | None = None
    """Besides the run's own reason (a move task SQS did not answer)."""
    next_request: dict[str, JsonValue] | None = None
    message: str | None = None
    remaining_in_source: int | None = None
    move_task: MoveTask | None = None
    problems: tuple[str, ...] = ()
    rest_of_source: dict[str, JsonValue] | None = None
    """The source's changes for a request that does what this run left (the ledger: the ids not
    taken, or the cursor after the last); None: the same source (a queue's rest is what is in it)."""


class RunState:
    """The state a run's workers share: counts, the stop, the message budget, held messages."""

    def __init__(
        self, request: RedriveRequest, deadline: Deadline, margin_s: float, log: Log, *, canary: bool = False
    ) -> None:
        self.request = request
        self.canary = canary
        """The canary's run: functions are invoked synchronously, and what each answered is noted."""
        self.canary_notes: list[str] = []
        self.canary_queues: dict[str, tuple[int, int]] = {}
        """A canary's target queues: (their depth before it sent, how many it sent there)."""
        self.deadline = deadline
        self.margin_s = margin_s
        self.log = log
        self.tally = Tally()
        self.claimed = 0
        self.stopped_because: str | None = None
        self._lock = threading.Lock()
        self._budget = request.max_messages
        self._held: dict[str, None] = {}
        self._closed_groups: set[tuple[str, str]] = set()

    # ------------------------------------------------------------ the stop

    def stop(self, because: str) -> None:
        with self._lock:
            if self.stopped_because is None:
                self.stopped_because = because

    def keep_going(self) -> bool:
        if self.stopped_because is None and self.deadline.remaining() <= self.margin_s:
            self.stop(
                f"the deadline: stopped {self.margin_s:.3g} s before the time limit, with the work in hand finished"
            )
        return self.stopped_because is None

    @property
    def stopped_early(self) -> bool:
        """Stopped before the end of what was asked (not by reaching max_messages)."""
        return self.stopped_because is not None and self.stopped_because != MAX_MESSAGES_REACHED

    def claim(self, wanted: int) -> int:
        """Take up to `wanted` from the `max_messages` budget."""
        with self._lock:
            if self._budget is None:
                return wanted
            granted = min(wanted, self._budget)
            self._budget -= granted
            self.claimed += granted
            if self._budget == 0 and self.stopped_because is None:
                self.stopped_because = MAX_MESSAGES_REACHED
            return granted

    def following(self, **source_changes: Any) -> dict[str, JsonValue]:
        """The request that goes on where this run stopped (what is left of max_messages)."""
        request: dict[str, Any] = self.request.model_dump(mode="json", exclude_defaults=True)
        request["source"] |= source_changes
        if self.request.max_messages is not None:
            request["max_messages"] = self.request.max_messages - self.claimed
        return request

    # ------------------------------------------------------------ what it holds

    def hold(self, handles: list[str]) -> None:
        """Messages received: invisible until the run deletes them or lets them go."""
        with self._lock:
            self._held.update(dict.fromkeys(handles))

    def let_go(self, handles: list[str]) -> None:
        """Messages deleted or made visible again: no longer the run's to release."""
        with self._lock:
            for handle in handles:
                self._held.pop(handle, None)

    def held(self) -> list[str]:
        with self._lock:
            return list(self._held)

    # ------------------------------------------------------------ FIFO targets and failures

    def close_group(self, queue_url: str, group_id: str) -> None:
        """A message of this FIFO group was not accepted: none after it may be sent in this run."""
        with self._lock:
            self._closed_groups.add((queue_url, group_id))

    def group_closed(self, queue_url: str, group_id: str) -> bool:
        with self._lock:
            return (queue_url, group_id) in self._closed_groups

    def target_failed(self, item_id: str, target: str, problem: str) -> None:
        self.log.warning(
            "redrive target refused a message", extra={"id": item_id, "target": target, "reason": problem}
        )
        run = self.tally.fail(item_id, target, problem, at_target=True)
        if run >= self.request.stop_after_consecutive_failures:
            self.stop(f"{run} consecutive failures at the target (last: {problem})")
        rate = self.request.max_failure_rate
        if rate is not None:
            failed, tried = self.tally.target_share()
            if tried >= MIN_RATE_SAMPLE and failed / tried > rate:
                self.stop(
                    f"the failure rate: {failed} of {tried} deliveries failed at the target "
                    f"({failed / tried:.0%}, above max_failure_rate {rate:.0%}; last: {problem})"
                )

    def note_canary(self, note: str) -> None:
        with self._lock:
            self.canary_notes.append(note)

    def canary_sending(self, url: str, depth: Callable[[], int]) -> None:
        """Before a canary's first send to `url`: how many messages it holds without the canary's."""
        if url not in self.canary_queues:  # the canary runs in one worker
            self.canary_queues[url] = (depth(), 0)

    def canary_sent(self, url: str, sent: int) -> None:
        before, so_far = self.canary_queues[url]
        self.canary_queues[url] = (before, so_far + sent)

    def progress(self) -> Progress:
        return self.tally.progress()


class RateLimit:
    """`rate` per second on average across every worker: each acquisition books its slot in turn."""

    def __init__(
        self, rate: float | None, clock: Callable[[], float], sleep: Callable[[float], None]
    ) -> None:
        self._interval = 1.0 / rate if rate else 0.0
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next = clock()

    def acquire(self, count: int, run: RunState) -> bool:
        """Wait for `count` slots; False (and nothing booked) when that would pass the run's stop."""
        if not self._interval or count == 0:
            return True
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            if start - now > run.deadline.remaining() - run.margin_s:
                return False
            self._next = start + count * self._interval
        if start > now:
            self._sleep(start - now)
        return True


def in_workers(run: RunState, worker: Callable[[], None]) -> None:
    """`worker` in `concurrency` threads. If the caller is interrupted (Ctrl-C) or one raises,
    the others stop after the work in hand."""
    if run.request.workers == 1:
        worker()
        return
    with ThreadPoolExecutor(max_workers=run.request.workers, thread_name_prefix="redrive") as pool:
        futures = [pool.submit(contextvars.copy_context().run, worker) for _ in range(run.request.workers)]
        try:
            for future in futures:
                future.result()
        except BaseException:
            run.stop("interrupted")
            raise


def reason(error: BaseException) -> str:
    """An AWS error (or any other) in a few words, for a report."""
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error_message(error)}"
    return f"{type(error).__name__}: {error}"


AWS_ERRORS: Final = (ClientError, BotoCoreError)
"""What an AWS call raises once its retries are over."""

"""What a redrive did: a typed report, returned by the function and shown by the command-line tool."""

import threading
from collections import Counter
from datetime import datetime
from enum import StrEnum
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

__all__ = [
    "CanaryReport",
    "FailedItem",
    "GroupCount",
    "MoveTask",
    "Progress",
    "RedriveReport",
    "RunStatus",
    "Tally",
]

MAX_LISTED_FAILURES: Final = 100
"""Failures listed one by one in a report; the rest are counted (`failed`) and logged."""


class RunStatus(StrEnum):
    """How a redrive run ended (not to be confused with a ledger entry's `RedriveStatus`)."""

    COMPLETE = "complete"
    """Everything the request selected was handled (moved, skipped or failed)."""
    STOPPED = "stopped"
    """The run stopped before the end (`stopped_because`); `next_request` goes on from there."""
    MOVE_TASK_STARTED = "move_task_started"
    """SQS moves the messages itself (`move_task`): watch it with ListMessageMoveTasks."""
    REJECTED = "rejected"
    """The request could not run (`problems`): nothing was touched."""


class GroupCount(BaseModel):
    model_config = ConfigDict(frozen=True)

    target: str | None
    function: str | None
    condition: str | None
    error_type: str | None
    count: int


class FailedItem(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    """The source message's id, or the ledger entry's failure_id."""
    target: str | None
    reason: str


class MoveTask(BaseModel):
    model_config = ConfigDict(frozen=True)

    task_handle: str
    source_arn: str
    destination_arn: str | None
    """None: each message goes back to the queue it came from."""
    max_per_second: int | None
    approximate_messages: int | None


class CanaryReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    size: int
    """The canary asked for (fewer when fewer were there)."""
    passed: bool
    verdict: str
    """Why it passed or failed, in a sentence."""
    outcomes: tuple[str, ...] = ()
    """Each canary delivery and what came of it (a function's answer or error)."""


class Progress(BaseModel):
    model_config = ConfigDict(frozen=True)

    received: int
    moved: int
    would_move: int
    skipped: int
    failed: int


class RedriveReport(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str
    status: RunStatus
    dry_run: bool
    source: str
    method: Literal["manual", "start_message_move_task", "ledger"] | None = None
    requested_by: str | None = None
    received: int = 0
    """Messages read from the source queue (ledger: entries read)."""
    would_move: int = 0
    """Dry run: what a real run would send or invoke."""
    moved: int = 0
    """Accepted by their target (and, unless keep_source, removed from the source)."""
    skipped_by_filter: int = 0
    quarantined: int = 0
    """Replayed `max_replays` times already: not replayed again, but moved to the quarantine queue,
    left in their DLQ, or marked quarantined in the ledger (dry run: would be)."""
    failed: int = 0
    """Not accepted by their target, or not redrivable: they stay where they were."""
    suspected_duplicates: int = 0
    """What this run may have delivered twice: sent but not removed from the source (the next run
    sends it again), or invoked from the ledger but not marked redriven (a redrive by filter may
    invoke it again). A run whose process died between a send and its delete cannot say: see the
    decision log on duplicates."""
    groups: tuple[GroupCount, ...] = ()
    """What moved (dry run: would move), by target, function, condition and error type."""
    failures: tuple[FailedItem, ...] = ()
    """The first failures, one by one (all of them are counted in `failed` and logged)."""
    failure_reasons: dict[str, int] = {}
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float = 0.0
    rate_per_second: float = 0.0
    """Moved (dry run: examined) per second."""
    remaining_in_source: int | None = None
    """The source queue's ApproximateNumberOfMessages at the end (an approximation, by SQS)."""
    stopped_because: str | None = None
    next_request: dict[str, JsonValue] | None = None
    """The request that goes on where this run stopped."""
    move_task: MoveTask | None = None
    problems: tuple[str, ...] = ()
    message: str | None = None
    """What to do next, in a sentence."""
    canary: CanaryReport | None = None
    """The canary's outcome, when the request asked for one (its deliveries are in the counts)."""


class Tally:
    """The counts of a run, shared by its workers (every update holds one lock)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.received = 0
        self.would_move = 0
        self.moved = 0
        self.skipped = 0
        self.quarantined = 0
        self.failed = 0
        self.suspected_duplicates = 0
        self.groups: Counter[tuple[str | None, str | None, str | None, str | None]] = Counter()
        self.failures: list[FailedItem] = []
        self.reasons: Counter[str] = Counter()
        self.consecutive_failures = 0
        self.target_failures = 0

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)

    def succeeded(
        self, group: tuple[str | None, str | None, str | None, str | None], *, dry_run: bool
    ) -> None:
        with self._lock:
            if dry_run:
                self.would_move += 1
            else:
                self.moved += 1
            self.groups[group] += 1
            self.consecutive_failures = 0

    def fail(self, item_id: str, target: str | None, reason: str, *, at_target: bool) -> int:
        """Count a failure; returns the run of consecutive target failures it belongs to."""
        with self._lock:
            self.failed += 1
            self.reasons[_reason_key(reason)] += 1
            if len(self.failures) < MAX_LISTED_FAILURES:
                self.failures.append(FailedItem(id=item_id, target=target, reason=reason))
            if at_target:
                self.consecutive_failures += 1
                self.target_failures += 1
            return self.consecutive_failures

    def target_share(self) -> tuple[int, int]:
        """(deliveries the target refused, deliveries tried): what `max_failure_rate` is measured on."""
        with self._lock:
            return self.target_failures, self.moved + self.target_failures

    def progress(self) -> Progress:
        with self._lock:
            return Progress(
                received=self.received,
                moved=self.moved,
                would_move=self.would_move,
                skipped=self.skipped,
                failed=self.failed,
            )

    def report_fields(self) -> dict[str, Any]:
        with self._lock:
            return {
                "received": self.received,
                "would_move": self.would_move,
                "moved": self.moved,
                "skipped_by_filter": self.skipped,
                "quarantined": self.quarantined,
                "failed": self.failed,
                "suspected_duplicates": self.suspected_duplicates,
                "groups": tuple(
                    GroupCount(target=t, function=f, condition=c, error_type=e, count=n)
                    for (t, f, c, e), n in sorted(self.groups.items(), key=lambda kv: (-kv[1], str(kv[0])))
                ),
                "failures": tuple(self.failures),
                "failure_reasons": dict(self.reasons.most_common()),
            }


def _reason_key(reason: str) -> str:
    """A reason without its particulars (the part before the first colon), to count alike ones."""
    return reason.split(":", 1)[0]

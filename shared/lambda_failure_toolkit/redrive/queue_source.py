"""The manual move out of a queue, shared by every queue source kind: receive a batch, decide each
message (the source kind's `decide`), deliver what is to go, delete only what its target accepted.

A message the run receives is held, invisible, until it is deleted or let go; everything still held
when the run ends (or breaks: a bug, Ctrl-C) is made visible again at once. The receive's visibility
timeout is the run's remaining time plus a minute, so after a crash SQS brings them back by itself.

A FIFO source gives out no later message of a group while the run holds an earlier one. A message
the filter skips is let go again as long as reading goes on bringing new messages of its group, so
the rest of the group is read past it (up to ten at its head: SQS gives out no more of a group in
one receive); a message the run holds for any other reason (a dry run, a copy, a target that did not
accept it) stops its group, and the report says so.
"""

import math
import threading
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from lambda_failure_toolkit.redrive.delivery import Delivery
from lambda_failure_toolkit.redrive.pattern import PatternTimeoutError
from lambda_failure_toolkit.redrive.report import Progress
from lambda_failure_toolkit.redrive.run import (
    AWS_ERRORS,
    Outcome,
    RateLimit,
    RedriveSourceError,
    RunState,
    Services,
    in_workers,
    reason,
)
from lambda_failure_toolkit.redrive.sqs_batches import MAX_ENTRIES, SqsBatches
from lambda_failure_toolkit.redrive.work import Decision, Refuse, Skip, Work

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageTypeDef

__all__ = ["move_by_hand", "queue_attributes"]

_MAX_VISIBILITY_S: Final = 43_200
_SYSTEM_ATTRIBUTES: Final = [  # what the redrive reads, no more (each costs on every message)
    "SentTimestamp",
    "DeadLetterQueueSourceArn",
    "MessageGroupId",
    "AWSTraceHeader",
]

Decide = Callable[["MessageTypeDef"], Decision]


def queue_attributes(services: Services, url: str) -> dict[str, str]:
    """The queue's ARN and approximate length, read before anything moves: it exists and may be used."""
    try:
        response = services.call(
            services.sqs.get_queue_attributes,
            QueueUrl=url,
            AttributeNames=["QueueArn", "ApproximateNumberOfMessages"],
        )
    except AWS_ERRORS as exc:
        raise RedriveSourceError(
            f"cannot read the queue {url} ({reason(exc)}): check the URL and that this role may use it"
        ) from exc
    return {str(name): value for name, value in response.get("Attributes", {}).items()}


def move_by_hand(
    services: Services,
    run: RunState,
    url: str,
    decide: Decide,
    progress: Callable[[Progress], None] | None,
) -> Outcome:
    """Move (or copy, or look at) every message of the queue at `url` that `decide` sends somewhere."""
    batches = SqsBatches(services.sqs, services.retry, services.log)
    mover = _Mover(services, run, url, batches, decide)

    def worker() -> None:
        while run.keep_going():
            messages = mover.receive()
            if messages is None:
                return
            mover.handle(messages)
            if progress:
                progress(run.progress())

    try:
        in_workers(run, worker)
    finally:  # a bug or Ctrl-C: what the run holds is made visible again all the same
        held = run.held()
        batches.release(url, held)
        run.let_go(held)
    stopped_because = None
    if mover.fifo is not None and not run.stopped_because and (blocked := mover.fifo.blocked()):
        stopped_because = (
            f"{len(blocked)} FIFO message group(s) not read to the end: SQS gives out no later message of a "
            "group while the run holds an earlier one (a dry run's, a copy's, one its target did not accept, "
            "or ten the filter skips at the head of the group)"
        )
    return _outcome(services, run, url, stopped_because)


def _outcome(services: Services, run: RunState, url: str, stopped_because: str | None) -> Outcome:
    remaining = _remaining(services, url)
    if not (run.stopped_early or stopped_because):
        return Outcome(method="manual", remaining_in_source=remaining)
    if run.request.keep_source or run.request.dry_run:
        message = (
            "stopped part way: a dry run or a copy leaves every message where it was, so running the request "
            "again reads the same messages again; narrow it with filter.since/until first"
        )
        return Outcome(
            method="manual", stopped_because=stopped_because, message=message, remaining_in_source=remaining
        )
    return Outcome(
        method="manual",
        stopped_because=stopped_because,
        next_request=run.following(),
        message="stopped part way: run next_request (the same source) to go on",
        remaining_in_source=remaining,
    )


def _remaining(services: Services, url: str) -> int | None:
    """The source's length at the end; None when it cannot be read now (the report still says what moved)."""
    try:
        count = queue_attributes(services, url).get("ApproximateNumberOfMessages")
    except RedriveSourceError as exc:
        services.log.warning(
            "the source queue could not be read at the end of the run", extra={"reason": str(exc)}
        )
        return None
    return int(count) if count is not None else None


class _FifoReading:
    """Which groups of a FIFO source the run reads past what the filter skips, and which it stopped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._skipped: set[str] = set()
        self._stopping: dict[str, str] = {}
        """Receipt handle -> group of a message held for another reason than the filter."""
        self._stuck: set[str] = set()
        """Groups whose head is ten messages the filter skips: no receive gives out the rest."""

    def read(self, batch: list[tuple["MessageTypeDef", Decision]]) -> tuple[set[str], list[str]]:
        """The ids of messages the filter skips for the first time (to count once), and the receipt
        handles of skipped messages to let go now, for their groups to be read past them.

        While a batch brings anything new, its skipped messages are let go. A batch of nothing new
        ends its first group: SQS gave as many of that group as it had, up to ten (ten: perhaps
        more, out of reach). A full batch lets the other groups' skipped messages go again."""
        skips = [message for message, decision in batch if isinstance(decision, Skip)]
        with self._lock:
            first = {m["MessageId"] for m in skips if m["MessageId"] not in self._skipped}
            self._skipped |= first
        if first or len(skips) < len(batch):
            return first, [m["ReceiptHandle"] for m in skips]
        head = _group(batch[0][0])
        if sum(_group(m) == head for m in skips) == MAX_ENTRIES:
            with self._lock:
                self._stuck.add(head)
        if len(batch) < MAX_ENTRIES:
            return first, []
        return first, [m["ReceiptHandle"] for m in skips if _group(m) != head]

    @staticmethod
    def in_order(batch: list[tuple["MessageTypeDef", Decision]]) -> list[tuple["MessageTypeDef", Decision]]:
        """After a message of a group that cannot be redriven, the group's later ones are not sent either."""
        refused: set[str] = set()
        ordered: list[tuple[MessageTypeDef, Decision]] = []
        for message, decided in batch:
            group = _group(message)
            decision = decided
            if isinstance(decided, Work) and group in refused:
                why = f"not sent: an earlier message of its FIFO group ({group}) cannot be redriven"
                decision = Refuse(why, str(decided.target))
            if isinstance(decision, Refuse):
                refused.add(group)
            ordered.append((message, decision))
        return ordered

    def stops(self, batch: list[tuple["MessageTypeDef", Decision]], held: list["MessageTypeDef"]) -> None:
        """Messages held for another reason than the filter stop their group, if it may have more: ten
        of it in the batch, or a full batch it did not lead (SQS gives as many of a group as it has)."""
        counts = Counter(_group(message) for message, _ in batch)
        first = _group(batch[0][0])
        more = {
            g for g, n in counts.items() if n == MAX_ENTRIES or (len(batch) == MAX_ENTRIES and g != first)
        }
        with self._lock:
            self._stopping.update((m["ReceiptHandle"], _group(m)) for m in held if _group(m) in more)

    def blocked(self) -> set[str]:
        with self._lock:
            return set(self._stopping.values()) | self._stuck


class _Mover:
    def __init__(
        self, services: Services, run: RunState, url: str, batches: SqsBatches, decide: Decide
    ) -> None:
        self._services = services
        self._run = run
        self._url = url
        self._batches = batches
        self._decide = decide
        self._delivery = Delivery(services, batches)
        self._limit = RateLimit(run.request.rate_per_second, services.clock, services.sleep)
        remaining = min(run.deadline.remaining(), _MAX_VISIBILITY_S)  # no deadline at all: the longest
        self._visibility = min(_MAX_VISIBILITY_S, math.ceil(remaining) + 60)
        self.fifo = _FifoReading() if url.endswith(".fifo") else None

    def receive(self) -> list["MessageTypeDef"] | None:
        """The next messages, held by the run; None when the source is empty or cannot be read."""
        try:
            response = self._services.call(
                self._services.sqs.receive_message,
                QueueUrl=self._url,
                MaxNumberOfMessages=MAX_ENTRIES,
                VisibilityTimeout=self._visibility,
                WaitTimeSeconds=self._services.wait_time_s,
                MessageAttributeNames=["All"],
                MessageSystemAttributeNames=_SYSTEM_ATTRIBUTES,
            )
        except AWS_ERRORS as exc:
            self._run.stop(f"the source queue could not be read: {reason(exc)}")
            return None
        messages: list[MessageTypeDef] = response.get("Messages", [])
        if not messages:
            return None
        self._run.hold([m["ReceiptHandle"] for m in messages])
        return messages

    def handle(self, messages: list["MessageTypeDef"]) -> None:
        run = self._run
        decided: list[tuple[MessageTypeDef, Decision]] = []
        for message in messages:
            try:
                decided.append((message, self._decide(message)))
            except PatternTimeoutError as exc:  # nothing of this batch moves; it stays held, then let go
                run.tally.add(received=len(messages))
                run.tally.fail(message["MessageId"], None, str(exc), at_target=False)
                run.stop(str(exc))
                return
        if self.fifo is not None:
            decided = self.fifo.in_order(decided)
        first_skips, passable = self.fifo.read(decided) if self.fifo is not None else (None, [])
        works = self._count(decided, first_skips)
        granted = run.claim(len(works))
        # Over the budget: back to the queue now, untouched (the run stops taking new messages).
        self._let_go([w.receipt_handle or "" for w in works[granted:]] + passable)
        works = works[:granted]
        if run.request.dry_run:
            for work in works:
                if work.quarantine:
                    run.tally.add(quarantined=1)
                else:
                    run.tally.succeeded(work.group, dry_run=True)
            self._stops(decided, works)
            return
        if not self._limit.acquire(len(works), run):
            run.stop("the deadline: the rate limit would have waited past it")
            self._stops(decided, works)
            return
        accepted = self._delivery.deliver(run, works)
        delivered = {id(work) for work in accepted}
        self._stops(decided, [w for w in works if run.request.keep_source or id(w) not in delivered])
        if run.request.keep_source or not accepted:
            return
        handles = [w.receipt_handle or "" for w in accepted]
        for handle, problem in self._batches.delete(self._url, handles).items():
            run.tally.add(suspected_duplicates=1)
            self._services.log.warning(
                "redriven but not removed from its source: the next run sends it again",
                extra={"receipt_handle": handle, "reason": problem},
            )
        # Deleted, or sent and left invisible (SQS brings it back when its visibility timeout ends).
        run.let_go(handles)

    def _count(
        self, decided: list[tuple["MessageTypeDef", Decision]], first_skips: set[str] | None
    ) -> list[Work]:
        """The works to deliver; what is skipped and refused is counted here (a skipped message read
        again in a FIFO source, once)."""
        run = self._run
        works: list[Work] = []
        received = 0
        for message, decision in decided:
            first = (
                first_skips is None or not isinstance(decision, Skip) or message["MessageId"] in first_skips
            )
            received += first
            match decision:
                case Work():
                    decision.id, decision.receipt_handle = message["MessageId"], message["ReceiptHandle"]
                    works.append(decision)
                case Skip() if first:
                    run.tally.add(skipped=1)
                case Refuse(quarantine=True):
                    self._services.log.warning(
                        "quarantined", extra={"id": message["MessageId"], "reason": decision.reason}
                    )
                    run.tally.add(quarantined=1)
                case Refuse():
                    self._services.log.warning(
                        "not redrivable", extra={"id": message["MessageId"], "reason": decision.reason}
                    )
                    run.tally.fail(message["MessageId"], decision.target, decision.reason, at_target=False)
        run.tally.add(received=received)
        return works

    def _stops(self, decided: list[tuple["MessageTypeDef", Decision]], held: list[Work]) -> None:
        """Messages the run keeps holding, other than skipped ones: in a FIFO source they stop their group."""
        if self.fifo is None:
            return
        kept = {w.receipt_handle for w in held}
        self.fifo.stops(
            decided, [m for m, d in decided if isinstance(d, Refuse) or m["ReceiptHandle"] in kept]
        )

    def _let_go(self, handles: list[str]) -> None:
        if handles:
            self._batches.release(self._url, handles)
            self._run.let_go(handles)


def _group(message: "MessageTypeDef") -> str:
    return message.get("Attributes", {}).get("MessageGroupId", "")

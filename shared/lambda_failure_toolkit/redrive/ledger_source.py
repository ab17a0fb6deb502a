"""Source kind `ledger`: entries by id or by filter, each invoked again as its kind says; an entry is
never removed, only marked redriven.

Workers take entries from one listing, in its order, one at a time: an entry is taken only while
the run goes on, and only once the rate limit has given it a slot, so what a stopped run did not do
is exactly the rest of the listing, and `next_request` goes on from there (the ids left, or the
cursor of the last entry taken). Days of the ledger are listed lazily, the run's stop checked between
Queries. The request's own `filter.since`/`until` narrow the days listed, as they narrow what is redriven.
"""

import threading
from collections.abc import Callable, Iterator
from typing import Any

from lambda_failure_toolkit.ledger import FailureLedger, LedgerEntry, LedgerError, LedgerFilter, RedriveStatus
from lambda_failure_toolkit.redrive.decide import Decider
from lambda_failure_toolkit.redrive.delivery import Delivery
from lambda_failure_toolkit.redrive.message_filter import MessageFilter
from lambda_failure_toolkit.redrive.pattern import PatternTimeoutError
from lambda_failure_toolkit.redrive.report import Progress
from lambda_failure_toolkit.redrive.request import LedgerSource
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
from lambda_failure_toolkit.redrive.sqs_batches import SqsBatches
from lambda_failure_toolkit.redrive.work import Refuse, Skip

__all__ = ["redrive_ledger"]


def redrive_ledger(
    services: Services,
    run: RunState,
    source: LedgerSource,
    decider: Decider,
    progress: Callable[[Progress], None] | None,
) -> Outcome:
    ledger = services.ledger
    if ledger is None:
        raise RedriveSourceError("a ledger source needs the failure ledger: none is configured here")
    listing = _Listing(
        ledger, source, run, RateLimit(run.request.rate_per_second, services.clock, services.sleep)
    )
    delivery = Delivery(services, SqsBatches(services.sqs, services.retry, services.log))

    def worker() -> None:
        while (failure_id := listing.take()) is not None:
            _redrive_entry(run, ledger, decider, delivery, failure_id)
            if progress:
                progress(run.progress())

    in_workers(run, worker)
    if not run.stopped_early:
        return Outcome(method="ledger", rest_of_source=listing.rest())
    return Outcome(
        method="ledger",
        next_request=run.following(**listing.rest()),
        message="stopped part way: run next_request to go on",
    )


class _Listing:
    """The entries to redrive, taken one at a time in order, by any worker."""

    def __init__(self, ledger: FailureLedger, source: LedgerSource, run: RunState, limit: RateLimit) -> None:
        self._source = source
        self._run = run
        self._limit = limit
        self._lock = threading.Lock()
        self._cursor: str | None = None
        self._ids_left = list(dict.fromkeys(source.failure_ids))
        self._entries: Iterator[tuple[str, str | None]]
        if source.filter is None:
            self._entries = ((failure_id, None) for failure_id in list(self._ids_left))
            return
        try:
            listed = ledger.entries(
                _days(source.filter, run.request.filter), cursor=source.cursor, keep_going=run.keep_going
            )
        except LedgerError as exc:  # a cursor the ledger did not issue for this filter
            raise RedriveSourceError(f"source.cursor: {exc}") from exc
        self._entries = ((summary.failure_id, cursor) for summary, cursor in listed)

    def take(self) -> str | None:
        """The next entry, or None: the listing is over, the run stopped, or the rate limit would pass it."""
        run = self._run
        with self._lock:
            if not run.keep_going():
                return None
            if not run.request.dry_run and not self._limit.acquire(1, run):
                run.stop("the deadline: the rate limit would have waited past it")
                return None
            taken = next(self._entries, None)
            if taken is None or run.claim(1) == 0:
                return None
            failure_id, self._cursor = taken
            if self._ids_left:
                self._ids_left.pop(0)
            run.tally.add(received=1)
            return failure_id

    def rest(self) -> dict[str, Any]:
        """The source's changes for the request that goes on after the last entry taken."""
        with self._lock:
            if self._source.filter is None:
                return {"failure_ids": list(self._ids_left)}
            return {"cursor": self._cursor} if self._cursor else {}


def _days(listed: LedgerFilter, requested: MessageFilter) -> LedgerFilter:
    """The ledger's filter narrowed by the request's own since/until: the days it lists are theirs too."""
    since = max((moment for moment in (listed.since, requested.since) if moment), default=None)
    until = min((moment for moment in (listed.until, requested.until) if moment), default=None)
    return listed.model_copy(update={"since": since, "until": until})


def _redrive_entry(
    run: RunState,
    ledger: FailureLedger,
    decider: Decider,
    delivery: Delivery,
    failure_id: str,
) -> None:
    try:
        entry = ledger.get(failure_id)
    except (LedgerError, *AWS_ERRORS) as exc:
        problem = str(exc) if isinstance(exc, LedgerError) else reason(exc)
        run.tally.fail(failure_id, None, f"not readable from the ledger: {problem}", at_target=False)
        return
    try:
        decision = decider.entry(entry)
    except PatternTimeoutError as exc:
        run.tally.fail(failure_id, None, str(exc), at_target=False)
        run.stop(str(exc))
        return
    match decision:
        case Skip():
            run.tally.add(skipped=1)
        case Refuse(quarantine=True):
            _quarantine(run, ledger, entry, decision.reason)
        case Refuse():
            run.tally.fail(failure_id, decision.target, decision.reason, at_target=False)
        case _ if run.request.dry_run:
            run.tally.succeeded(decision.group, dry_run=True)
        case _:
            delivery.invoke(run, decision)


def _quarantine(run: RunState, ledger: FailureLedger, entry: LedgerEntry, why: str) -> None:
    """Marked quarantined (unless it is already, or the run is dry), and counted so."""
    if not run.request.dry_run and entry.redrive_status is not RedriveStatus.QUARANTINED:
        try:
            ledger.quarantine(entry.failure_id)
        except (LedgerError, *AWS_ERRORS) as exc:
            problem = str(exc) if isinstance(exc, LedgerError) else reason(exc)
            run.tally.fail(
                entry.failure_id, None, f"{why}, but not marked quarantined: {problem}", at_target=False
            )
            return
    run.log.warning("quarantined", extra={"failure_id": entry.failure_id, "reason": why})
    run.tally.add(quarantined=1)

"""The redrive engine: read failures from a queue or the ledger, deliver each to its target, and only
then remove it from its source.

One engine serves the RedriveFunction and the `dlq` command-line tool. Its guarantees:

- A message leaves its queue only after its target accepted it (SendMessageBatch, entry by entry, or
  Invoke answering 202, or a stream processor answering without error and without batchItemFailures).
- Throttles and transient errors are retried with backoff, never past the deadline; a target's
  permanent refusal fails that message only, and it stays in its queue.
- Messages the run does not move (skipped, failed, dry run, copied) stay invisible while the run
  reads on (so none is read twice) and are made visible again when it ends, or breaks. If the
  process dies, SQS makes them visible when their visibility timeout ends: nothing is lost, a
  duplicate is possible (a message sent but not yet deleted).
- The run stops cleanly `margin_s` before its deadline and says how to go on (`next_request`).

Where each part lives: the source kinds (`sqs_dlq`, `lambda_dlq`, `destination_queue`,
`ledger_source`), the manual move out of a queue (`queue_source`), deciding what to do with a failure
(`decide`, `work`), delivering it (`delivery`, `sqs_batches`), the run's clock, rate and tally (`run`).
"""

import dataclasses
import functools
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

from lambda_failure_toolkit.ledger import FailureLedger
from lambda_failure_toolkit.redrive.backup import Backup
from lambda_failure_toolkit.redrive.canary import canary_request, judge, rest_request
from lambda_failure_toolkit.redrive.decide import Decider
from lambda_failure_toolkit.redrive.destination_queue import redrive_destination_queue
from lambda_failure_toolkit.redrive.lambda_dlq import redrive_lambda_dlq
from lambda_failure_toolkit.redrive.ledger_source import redrive_ledger
from lambda_failure_toolkit.redrive.pattern import PatternSearch
from lambda_failure_toolkit.redrive.report import CanaryReport, Progress, RedriveReport, RunStatus
from lambda_failure_toolkit.redrive.request import (
    DestinationQueueSource,
    LambdaDlqSource,
    LedgerSource,
    RedriveRequest,
    SqsDlqSource,
)
from lambda_failure_toolkit.redrive.run import Log, Outcome, RedriveSourceError, RunState, Services
from lambda_failure_toolkit.redrive.sqs_dlq import redrive_sqs_dlq
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from lambda_failure_toolkit.retry import Deadline, RetryPolicy, deadline_scope

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["DEFAULT_RUN_S", "Redrive", "RedriveSourceError"]

logger = logging.getLogger(__name__)

_DEFAULT_RETRY: Final = RetryPolicy(max_attempts=6, base_delay_s=0.2, max_delay_s=10.0)
DEFAULT_RUN_S: Final = 900.0
"""How long a run may take when its caller gives no deadline (the messages it keeps invisible
while it reads on are so for that long, plus a minute, should it crash)."""


class Redrive:
    def __init__(
        self,
        *,
        sqs: "SQSClient",
        lambda_client: "LambdaClient",
        ledger: FailureLedger | None = None,
        targets: RedriveTargets,
        restrict_derived_targets: bool = True,
        invoke_identity_arn: Callable[[], str] | None = None,
        retry: RetryPolicy = _DEFAULT_RETRY,
        wait_time_s: int = 1,
        margin_s: float = 30.0,
        pattern_timeout_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        log: Log = logger,
        backup: Backup | None = None,
    ) -> None:
        """
        Args:
            targets: the allow-list of the deployment: where a target override may point and, with
                `restrict_derived_targets`, where a failure's own target may be (the function's
                case: a forged record in a DLQ must not make it invoke anything else).
            invoke_identity_arn: what to put in a Kinesis record's `invokeIdentityArn` (the ledger
                cannot read it back from the stream); called once, when first needed.
            wait_time_s: the long poll of each receive; the first empty one ends a worker.
            margin_s: how long before the deadline the run stops taking new work.
            pattern_timeout_s: the longest one search of `error_message_pattern` may take.
            backup: where a real run writes each message or entry before it delivers it.
        """
        self._sqs = sqs
        self._lambda = lambda_client
        self._ledger = ledger
        self._targets = targets
        self._restrict = restrict_derived_targets
        self._identity = functools.cache(invoke_identity_arn or (lambda: ""))
        self._retry = retry
        self._wait = wait_time_s
        self._margin = margin_s
        self._pattern_timeout_s = pattern_timeout_s
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._log = log
        self._backup = backup

    def run(
        self,
        request: RedriveRequest,
        *,
        deadline: Deadline | None = None,
        progress: Callable[[Progress], None] | None = None,
    ) -> RedriveReport:
        """Carry out `request` before `deadline` (default: DEFAULT_RUN_S from now).

        Raises RedriveSourceError (nothing touched) when its source or target cannot be used; every
        other problem is in the report."""
        deadline = deadline or Deadline.after(DEFAULT_RUN_S, clock=self._clock)
        run_id = str(uuid.uuid4())
        started_at, started = self._now(), self._clock()
        self._log.info(
            "redrive requested",
            extra={
                "run_id": run_id,
                "requested_by": request.requested_by,
                "request": request.model_dump(mode="json", exclude_defaults=True),
            },
        )
        # A short run keeps a tenth of its time back, not the whole margin.
        run = RunState(request, deadline, min(self._margin, deadline.remaining() / 10), self._log)
        canary: CanaryReport | None = None
        with deadline_scope(deadline):
            if request.canary is not None and not request.dry_run:
                run, outcome, canary = self._with_canary(run, progress)
            else:
                outcome = self._outcome(run, progress)
        report = self._report(
            run_id,
            run,
            outcome,
            started_at=started_at,
            duration=max(self._clock() - started, 1e-9),
            canary=canary,
        )
        self._log.info(
            "redrive finished",
            extra={
                "run_id": run_id,
                "requested_by": request.requested_by,
                "report": report.model_dump(mode="json", exclude={"failures", "groups"}),
            },
        )
        return report

    def _with_canary(
        self, run: RunState, progress: Callable[[Progress], None] | None
    ) -> tuple[RunState, Outcome, CanaryReport]:
        """The canary alone, then (if it passed) the rest, counted in the same tally."""
        trial = RunState(canary_request(run.request), run.deadline, run.margin_s, self._log, canary=True)
        outcome = self._outcome(trial, progress)
        verdict = judge(self._services(trial), trial, outcome)
        if not verdict.passed:
            stopped = Outcome(
                method=outcome.method,
                status=RunStatus.STOPPED,
                stopped_because=f"the canary failed: {verdict.report.verdict}",
                remaining_in_source=outcome.remaining_in_source,
                message="nothing else was touched: fix the cause, then run the request again",
            )
            return trial, stopped, verdict.report
        rest = rest_request(run.request, trial, outcome)
        if rest is None:
            return trial, outcome, verdict.report
        main = RunState(rest, run.deadline, run.margin_s, self._log)
        main.tally = trial.tally
        main.claimed = trial.claimed
        return main, self._outcome(main, progress), verdict.report

    def _services(self, run: RunState) -> Services:
        return Services(
            sqs=self._sqs,
            lambda_client=self._lambda,
            ledger=self._ledger,
            targets=self._targets,
            restrict=self._restrict,
            identity=self._identity,
            retry=dataclasses.replace(self._retry, sleep=self._sleep),  # backs off on the run's clock
            wait_time_s=self._wait,
            clock=self._clock,
            sleep=self._sleep,
            now=self._now,
            log=self._log,
            backup=None if run.request.dry_run else self._backup,
        )

    def _outcome(self, run: RunState, progress: Callable[[Progress], None] | None) -> Outcome:
        pattern = run.request.filter.error_message_pattern
        search = PatternSearch(pattern, timeout_s=self._pattern_timeout_s) if pattern else None
        services = self._services(run)
        decider = Decider(services, run.request, search.search if search else None)
        try:
            match run.request.source:
                case SqsDlqSource() as source:
                    return redrive_sqs_dlq(services, run, source, progress)
                case LambdaDlqSource() as source:
                    return redrive_lambda_dlq(services, run, source, decider, progress)
                case DestinationQueueSource() as source:
                    return redrive_destination_queue(services, run, source, decider, progress)
                case LedgerSource() as source:
                    return redrive_ledger(services, run, source, decider, progress)
        finally:
            if search is not None:
                search.close()

    def _report(
        self,
        run_id: str,
        run: RunState,
        outcome: Outcome,
        *,
        started_at: datetime,
        duration: float,
        canary: CanaryReport | None,
    ) -> RedriveReport:
        request = run.request
        done = run.tally.report_fields()
        stopped_because = outcome.stopped_because or run.stopped_because
        status = outcome.status or (
            RunStatus.STOPPED if run.stopped_early or outcome.stopped_because else RunStatus.COMPLETE
        )
        handled = done["would_move"] if request.dry_run else done["moved"]
        return RedriveReport(
            run_id=run_id,
            status=status,
            dry_run=request.dry_run,
            source=request.describe_source(),
            method=outcome.method,
            requested_by=request.requested_by,
            started_at=started_at,
            finished_at=self._now(),
            duration_s=round(duration, 3),
            rate_per_second=round(handled / duration, 1),
            stopped_because=stopped_because,
            remaining_in_source=outcome.remaining_in_source,
            next_request=outcome.next_request,
            move_task=outcome.move_task,
            problems=outcome.problems,
            message=outcome.message,
            canary=canary,
            **done,
        )

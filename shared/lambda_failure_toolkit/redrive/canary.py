"""A canary: the first few failures replayed alone, their outcome awaited, the rest only if they succeeded.

The canary is a run of its own, limited to `canary` messages or entries, in one worker. A function
target is invoked synchronously (the same event, on the same qualifier): the function's answer or
error is the outcome. A queue target is watched for `canary_wait_s`: the canary's messages must
leave it (the queue holds no more than before they were sent), and none may come back to its DLQ
(the queue's RedrivePolicy), whose depth is taken once the canary is done. SQS's counts are
approximate and a busy queue's change with other traffic: on a queue that others write to, the
watch says what SQS's counts say, no more (see the decision log).

If the canary failed, the run stops there: nothing else is touched. If it passed, the rest of the
request runs in the same report (its counts include the canary's).
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lambda_failure_toolkit.redrive.delivery import queue_depth
from lambda_failure_toolkit.redrive.report import CanaryReport
from lambda_failure_toolkit.redrive.request import RedriveRequest
from lambda_failure_toolkit.redrive.run import AWS_ERRORS, Outcome, RunState, Services, reason

__all__ = ["Verdict", "canary_request", "judge", "rest_request"]

_POLL_S = 5.0


@dataclass(frozen=True)
class Verdict:
    report: CanaryReport

    @property
    def passed(self) -> bool:
        return self.report.passed


def canary_request(request: RedriveRequest) -> RedriveRequest:
    size = request.canary or 1
    return request.model_copy(
        update={"max_messages": min(size, request.max_messages or size), "concurrency": 1}
    )


def judge(services: Services, trial: RunState, outcome: Outcome) -> Verdict:
    size = trial.request.max_messages or 0

    def verdict(passed: bool, because: str) -> Verdict:
        # The deliveries noted as they were answered, then any other failure (not sent at all).
        noted = {note.split(" -> ", 1)[0] for note in trial.canary_notes}
        others = (
            f"{f.id} -> {f.target or '-'}: {f.reason}" for f in trial.tally.failures if f.id not in noted
        )
        outcomes = (*trial.canary_notes, *others)
        return Verdict(CanaryReport(size=size, passed=passed, verdict=because, outcomes=outcomes))

    tally = trial.tally
    if tally.failed:
        return verdict(False, f"{tally.failed} of the canary's {tally.failed + tally.moved} failed")
    if trial.stopped_early or outcome.status is not None:
        return verdict(False, f"the canary did not finish: {trial.stopped_because or outcome.message}")
    if tally.moved == 0:
        return verdict(True, "nothing to replay: the source had nothing the request selects")
    if not trial.canary_queues:
        return verdict(True, f"{tally.moved} function invocation(s) succeeded")
    try:
        return _watch(services, trial, verdict)
    except AWS_ERRORS as exc:
        return verdict(False, f"the target queue could not be watched: {reason(exc)}")


def _watch(services: Services, trial: RunState, verdict: Callable[[bool, str], Verdict]) -> Verdict:
    wait = min(trial.request.canary_wait_s, max(0.0, trial.deadline.remaining() - trial.margin_s))
    dlqs = {url: _dlq_of(services, url) for url in trial.canary_queues}
    dlq_before = {dlq: queue_depth(services, dlq) for dlq in dlqs.values() if dlq}
    start = services.clock()
    while True:
        back = {dlq: queue_depth(services, dlq) - before for dlq, before in dlq_before.items()}
        if any(count > 0 for count in back.values()):
            where = ", ".join(f"{count} in {dlq}" for dlq, count in back.items() if count > 0)
            return verdict(False, f"the canary's messages came back to the DLQ ({where})")
        waiting = {
            url: depth - before
            for url, (before, _) in trial.canary_queues.items()
            if (depth := queue_depth(services, url)) > before
        }
        if not waiting:
            sent = sum(count for _, count in trial.canary_queues.values())
            return verdict(True, f"the canary's {sent} message(s) left the target queue and none came back")
        elapsed = services.clock() - start
        if elapsed >= wait:
            where = ", ".join(f"{count} in {url}" for url, count in waiting.items())
            return verdict(
                False, f"the canary's messages were still in the target queue after {wait:.0f} s ({where})"
            )
        services.sleep(min(_POLL_S, wait - elapsed))


def _dlq_of(services: Services, url: str) -> str | None:
    """The DLQ of a queue (its RedrivePolicy's target), as a URL; None when it has none."""
    attributes = services.call(
        services.sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["RedrivePolicy"]
    )
    policy = attributes.get("Attributes", {}).get("RedrivePolicy")
    if not policy:
        return None
    arn = str(json.loads(policy).get("deadLetterTargetArn", ""))
    parts = arn.split(":")
    if len(parts) != 6:
        return None
    found: Any = services.call(
        services.sqs.get_queue_url, QueueName=parts[5], QueueOwnerAWSAccountId=parts[4]
    )
    return str(found["QueueUrl"])


def rest_request(request: RedriveRequest, trial: RunState, outcome: Outcome) -> RedriveRequest | None:
    """What the request asks beyond the canary; None when the canary did all of it."""
    rest: dict[str, Any] = request.model_dump(mode="json", exclude_defaults=True)
    rest.pop("canary", None)
    if request.max_messages is not None:
        left = request.max_messages - trial.claimed
        if left <= 0:
            return None
        rest["max_messages"] = left
    if outcome.rest_of_source is not None:
        rest["source"] |= outcome.rest_of_source
        if "failure_ids" in outcome.rest_of_source and not outcome.rest_of_source["failure_ids"]:
            return None
    if trial.tally.received < (trial.request.max_messages or 0):
        return None  # the source had fewer than the canary: nothing is left
    return RedriveRequest.model_validate(rest)

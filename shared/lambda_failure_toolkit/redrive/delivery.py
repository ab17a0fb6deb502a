"""Delivering work to its target: SendMessageBatch to a queue, Invoke of a function, and counting
what each target accepted.

Into a FIFO queue, a call carries at most one message of each group: SQS answers each entry on its
own, so a later message of a group could be accepted while an earlier one failed and is retried
after it. Once a message of a group is not accepted, nothing after it in that group is sent in
this run.
"""

from typing import Any, Final

from lambda_failure_toolkit.ledger import LedgerError
from lambda_failure_toolkit.redrive.run import AWS_ERRORS, RunState, Services, reason
from lambda_failure_toolkit.redrive.sqs_batches import SqsBatches
from lambda_failure_toolkit.redrive.work import FunctionTarget, QueueTarget, Work, parse_json

__all__ = ["Delivery", "queue_depth"]

_ACCEPTED: Final = 202
_ANSWER_SHOWN: Final = 300
"""Characters of a canary's answer kept in the report."""


class Delivery:
    def __init__(self, services: Services, batches: SqsBatches) -> None:
        self._services = services
        self._batches = batches

    def deliver(self, run: RunState, works: list[Work]) -> list[Work]:
        """Deliver a batch; returns what was accepted. A function is not invoked once the run has
        stopped (a synchronous processor may run for minutes): that work is left where it is."""
        accepted: list[Work] = []
        by_queue: dict[str, list[Work]] = {}
        for work in self._backed_up(run, works):
            if isinstance(work.target, QueueTarget):
                by_queue.setdefault(work.target.url, []).append(work)
            elif run.keep_going() and self._invoke(run, work):
                accepted.append(work)
        for url, batch in by_queue.items():
            accepted.extend(
                self._send_fifo(run, url, batch) if url.endswith(".fifo") else self._send(run, url, batch)
            )
        return accepted

    def invoke(self, run: RunState, work: Work) -> bool:
        """Invoke the work's function; True when it accepted the event (and its ledger entry is marked)."""
        return bool(self._backed_up(run, [work])) and self._invoke(run, work)

    def _backed_up(self, run: RunState, works: list[Work]) -> list[Work]:
        """The works, once written to the run's backup (if any); none when it could not be written."""
        backup = self._services.backup
        if backup is None or not works:
            return works
        try:
            backup.write(run.request.describe_source(), works)
        except OSError as exc:
            problem = f"the backup could not be written ({exc}): not sent, it stays in its source"
            for work in works:
                run.tally.fail(work.id, str(work.target), problem, at_target=False)
            run.stop(problem)
            return []
        return works

    def _invoke(self, run: RunState, work: Work) -> bool:
        target = work.target
        assert isinstance(target, FunctionTarget)  # noqa: S101 -- the caller sends queue work elsewhere
        # A canary waits for the function's answer: the same event, on the same qualifier, synchronously.
        sync = target.stream or run.canary
        arguments: dict[str, Any] = {
            "FunctionName": target.function,
            "InvocationType": "RequestResponse" if sync else "Event",
            "Payload": work.body.encode(),
        }
        if target.qualifier and not _qualified(target.function):
            arguments["Qualifier"] = target.qualifier
        try:
            response = self._services.call(self._services.lambda_client.invoke, **arguments)
        except AWS_ERRORS as exc:
            run.target_failed(work.id, str(target), reason(exc))
            return False
        problem, answer = _invoke_problem(response, sync=sync, stream=target.stream)
        if run.canary:
            run.note_canary(f"{work.id} -> {target}: " + (problem or f"succeeded, answered {answer}"))
        if problem is not None:
            run.target_failed(work.id, str(target), problem)
            return False
        run.tally.succeeded(work.group, dry_run=False)
        if work.failure_id is not None:
            self._mark(run, work.failure_id)
        return True

    def _send(self, run: RunState, url: str, works: list[Work]) -> list[Work]:
        if run.canary:
            run.canary_sending(url, lambda: queue_depth(self._services, url))
        accepted = []
        for work, problem in zip(works, self._batches.send(url, works), strict=True):
            if problem is None:
                if work.quarantine:
                    run.tally.add(quarantined=1)
                else:
                    run.tally.succeeded(work.group, dry_run=False)
                accepted.append(work)
            else:
                run.target_failed(work.id, url, problem)
        if run.canary:
            run.canary_sent(url, len(accepted))
        return accepted

    def _send_fifo(self, run: RunState, url: str, works: list[Work]) -> list[Work]:
        """In rounds: each round sends the next message of every group still open, in order."""
        pending: dict[str, list[Work]] = {}
        for work in works:
            pending.setdefault(work.group_id or "", []).append(work)
        accepted: list[Work] = []
        while pending:
            round_ = []
            for group_id, queue in list(pending.items()):
                if run.group_closed(url, group_id):
                    for work in queue:
                        run.tally.fail(
                            work.id,
                            url,
                            f"not sent: an earlier message of its FIFO group ({group_id}) was not accepted",
                            at_target=False,
                        )
                    del pending[group_id]
                    continue
                round_.append(queue.pop(0))
                if not queue:
                    del pending[group_id]
            sent = self._send(run, url, round_)
            accepted.extend(sent)
            delivered = {id(work) for work in sent}
            for work in round_:
                if id(work) not in delivered:
                    run.close_group(url, work.group_id or "")
        return accepted

    def _mark(self, run: RunState, failure_id: str) -> None:
        ledger = self._services.ledger
        assert ledger is not None  # noqa: S101 -- work decided from a ledger entry
        try:
            ledger.mark_redriven(failure_id, at=self._services.now())
        except (LedgerError, *AWS_ERRORS) as exc:
            run.tally.add(suspected_duplicates=1)
            self._services.log.warning(
                "redriven but not marked in the ledger: a redrive by filter may send it again",
                extra={"failure_id": failure_id, "reason": reason(exc)},
            )


def _invoke_problem(response: Any, *, sync: bool, stream: bool) -> tuple[str | None, str]:
    """What went wrong, if anything, and the function's answer (the start of it)."""
    if not sync:
        status = response.get("StatusCode")
        return (None if status == _ACCEPTED else f"not accepted: Invoke answered {status}"), ""
    text = (response["Payload"].read() if "Payload" in response else b"").decode(errors="replace")
    shown = text[:_ANSWER_SHOWN] + ("..." if len(text) > _ANSWER_SHOWN else "")
    present, answer = parse_json(text)
    if response.get("FunctionError"):
        details = answer if isinstance(answer, dict) else {}
        error = ": ".join(
            str(part) for part in (details.get("errorType"), details.get("errorMessage")) if part
        )
        who = "the processor" if stream else "the function"
        return f"{who} failed ({response['FunctionError']}): {error or 'no message'}", shown
    failures = answer.get("batchItemFailures") if stream and present and isinstance(answer, dict) else None
    if failures:
        first = failures[0].get("itemIdentifier") if isinstance(failures[0], dict) else None
        return f"the processor reported {len(failures)} record(s) failed again (first: {first})", shown
    return None, shown


def queue_depth(services: Services, url: str) -> int:
    """Messages in the queue, visible, in flight and delayed (SQS's approximate counts)."""
    names = (
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    )
    response = services.call(services.sqs.get_queue_attributes, QueueUrl=url, AttributeNames=list(names))
    return sum(int(response["Attributes"].get(name, 0)) for name in names)


def _qualified(function: str) -> bool:
    return function.count(":") in {1, 7}

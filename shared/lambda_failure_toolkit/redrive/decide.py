"""Deciding what to do with one failure: whether the request selects it, where it goes, and whether
it can go there at all. The source kinds share this; each adds what only it knows (sqs_dlq,
lambda_dlq, destination_queue, ledger_source). An undelivered event goes to its one target, as
`first_hop` builds it.
"""

from collections.abc import Callable

from pydantic import JsonValue

from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import LedgerEntry, RedriveStatus, RehydrationStatus
from lambda_failure_toolkit.redrive.first_hop import first_hop_event, no_target_reason
from lambda_failure_toolkit.redrive.request import LedgerSource, RedriveRequest
from lambda_failure_toolkit.redrive.run import Services
from lambda_failure_toolkit.redrive.work import (
    Decision,
    FailureFacts,
    FunctionTarget,
    Refuse,
    Skip,
    Work,
    dumps,
)

__all__ = ["Decider"]


class Decider:
    """The request's filter and target rules, and the deployment's allow-list, for one run."""

    def __init__(
        self, services: Services, request: RedriveRequest, search: Callable[[str], bool] | None
    ) -> None:
        self._services = services
        self.request = request
        self._search = search

    def selects(self, facts: FailureFacts) -> bool:
        """Raises PatternTimeoutError when the error_message_pattern backtracks on this failure."""
        return self.request.filter.selects(
            kind=facts.kind,
            condition=facts.condition,
            error_type=facts.error_type,
            error_message=facts.error_message,
            occurred_at=facts.occurred_at,
            payload=lambda: (facts.has_payload, facts.payload),
            search=self._search,
        )

    def function_of(self, facts: FailureFacts, *, stream: bool = False) -> FunctionTarget | None:
        """The target override, or else the function (and qualifier) that failed."""
        if self.request.target and self.request.target.function:
            return FunctionTarget(self.request.target.function, stream=stream)
        if facts.function_arn is None:
            return None
        return FunctionTarget(facts.function_arn, facts.qualifier, stream=stream)

    def refused(self, target: FunctionTarget) -> Refuse | None:
        if self._services.restrict and not self._services.targets.allows_function(target.function):
            return Refuse(f"target not allowed: {target.function} is not in the allow-list", str(target))
        return None

    def event(self, facts: FailureFacts, target: FunctionTarget | None, body: str | None = None) -> Decision:
        """An async failure or a Lambda DLQ message (from a queue or the ledger): invoke its event again.
        `body`: the event's exact text when the source has it (a DLQ message's body)."""
        if not self.selects(facts):
            return Skip()
        if target is None:
            return Refuse(
                "no target: a Lambda DLQ message does not name the function that failed; give target.function"
            )
        if refusal := self.refused(target):
            return refusal
        if not facts.has_payload:
            why = (
                facts.no_payload_because
                or f"the record ({facts.condition or 'DLQ'}) does not carry the event"
            )
            return Refuse(f"no payload: {why}, so there is nothing to replay", str(target))
        return Work(
            id=facts.failure_id,
            target=target,
            body=body if body is not None else facts.event(),
            group=facts.group(target),
        )

    def delivery(self, facts: FailureFacts) -> Decision:
        """An undelivered event: invoked on the one target that missed it, as its service would have."""
        if not self.selects(facts):
            return Skip()
        target = self.function_of(facts)
        if target is None:
            return Refuse(no_target_reason(facts))
        if refusal := self.refused(target):
            return refusal
        event = first_hop_event(facts)
        if isinstance(event, Refuse):
            return Refuse(event.reason, str(target))
        return Work(id=facts.failure_id, target=target, body=event, group=facts.group(target))

    def entry(self, entry: LedgerEntry) -> Decision:
        """A ledger entry: its event invoked again, or its stream batch sent to its processor."""
        facts = FailureFacts.of(entry)
        if entry.kind is FailureKind.DELIVERY:
            decision = self.delivery(facts)
        elif entry.kind is not FailureKind.STREAM:
            decision = self.event(facts, self.function_of(facts))
        elif not self.selects(facts):
            decision = Skip()
        else:
            target = self.function_of(facts, stream=True)
            assert target is not None  # noqa: S101 -- a stream record always names its function
            decision = self.refused(target) or self._stream_work(entry, facts, target)
        if isinstance(decision, Work):
            decision.failure_id = entry.failure_id
            return self._held(entry) or decision
        return decision

    def _held(self, entry: LedgerEntry) -> Refuse | None:
        """A quarantine instead of a replay: replayed `max_replays` times, or quarantined before (and
        not asked for: named by id, or selected by the status quarantined, is the operator's decision
        to replay it all the same)."""
        source = self.request.source
        asked = isinstance(source, LedgerSource) and (
            bool(source.failure_ids)
            or (source.filter is not None and source.filter.redrive_status is RedriveStatus.QUARANTINED)
        )
        if entry.redrive_status is RedriveStatus.QUARANTINED and not asked:
            return Refuse(
                "quarantined before (replayed too often): name it by failure id, or select the status "
                "quarantined, to replay it",
                quarantine=True,
            )
        limit = self.request.max_replays
        if limit is not None and entry.redrive_count >= limit:
            return Refuse(
                f"quarantined: replayed {entry.redrive_count} time(s), max_replays is {limit}",
                quarantine=True,
            )
        return None

    def _stream_work(self, entry: LedgerEntry, facts: FailureFacts, target: FunctionTarget) -> Decision:
        if entry.rehydration_status is RehydrationStatus.FROM_PAYLOAD and entry.has_payload:
            body = facts.event()  # an S3 destination's record carried the batch event itself
        elif entry.records:
            body = dumps({"Records": [self._as_delivered(record) for record in entry.records]})
        else:
            why = f": {entry.rehydration_reason}" if entry.rehydration_reason else ""
            return Refuse(
                f"no records: the stream's records were not read back ({entry.rehydration_status.value}{why})",
                str(target),
            )
        return Work(id=entry.failure_id, target=target, body=body, group=facts.group(target))

    def _as_delivered(self, record: dict[str, JsonValue]) -> dict[str, JsonValue]:
        if record.get("eventSource") != "aws:kinesis" or "invokeIdentityArn" in record:
            return record
        return {**record, "invokeIdentityArn": self._services.identity()}

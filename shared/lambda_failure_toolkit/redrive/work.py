"""What one failure becomes: a target, and a decision (deliver it, skip it, or refuse it, with why).

These are the typed values the parts of the engine pass each other: a source kind decides a
`Decision` for each message or entry, the delivery takes the `Work`, and the tally counts by `Group`.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import JsonValue

from lambda_failure_toolkit.failures import FailureKind, FailureRecord, FirstHop
from lambda_failure_toolkit.ledger import LedgerEntry

if TYPE_CHECKING:
    from mypy_boto3_sqs.type_defs import MessageAttributeValueOutputTypeDef

__all__ = [
    "Decision",
    "FailureFacts",
    "FunctionTarget",
    "Group",
    "QueueTarget",
    "Refuse",
    "Skip",
    "Target",
    "Work",
    "dumps",
    "parse_json",
]

Group = tuple[str | None, str | None, str | None, str | None]
"""What the report groups by: target, function, condition, error type."""


@dataclass(frozen=True, slots=True)
class QueueTarget:
    url: str

    @property
    def fifo(self) -> bool:
        return self.url.endswith(".fifo")

    def __str__(self) -> str:
        return self.url


@dataclass(frozen=True, slots=True)
class FunctionTarget:
    function: str
    qualifier: str | None = None
    stream: bool = False
    """A stream processor: invoked synchronously with a batch event, as its event source mapping does."""

    def __str__(self) -> str:
        return f"{self.function}:{self.qualifier}" if self.qualifier else self.function


Target = QueueTarget | FunctionTarget


@dataclass(slots=True)
class Work:
    """One failure to deliver: where, what, and how to remove it from its source afterwards."""

    id: str
    target: Target
    body: str
    group: Group
    attributes: "dict[str, MessageAttributeValueOutputTypeDef]" = field(default_factory=dict)
    group_id: str | None = None
    """The FIFO target's message group."""
    dedup_id: str | None = None
    trace_header: str | None = None
    """The X-Ray trace header the source message carried (AWSTraceHeader): sent along."""
    receipt_handle: str | None = None
    failure_id: str | None = None
    """The ledger entry it was decided from: marked redriven once delivered."""
    source_attributes: "dict[str, MessageAttributeValueOutputTypeDef] | None" = None
    """The message attributes as the source message had them, when `attributes` changes them (the
    replay count): what a backup keeps."""
    quarantine: bool = False
    """Sent to the request's quarantine queue (replayed `max_replays` times), not to its target."""


@dataclass(frozen=True, slots=True)
class Skip:
    """Not selected by the request's filter (or an OnSuccess record: nothing to replay)."""


@dataclass(frozen=True, slots=True)
class Refuse:
    """Not redrivable as it is (no target, nothing to replay, a target outside the allow-list)."""

    reason: str
    target: str | None = None
    quarantine: bool = False
    """Held back, not failed: replayed `max_replays` times already (it stays, or the ledger marks it)."""


Decision = Work | Skip | Refuse


@dataclass(frozen=True, slots=True)
class FailureFacts:
    """What a filter and a target are decided on: the same for a record read now and a ledger entry."""

    failure_id: str
    kind: FailureKind
    condition: str | None
    function_name: str | None
    function_arn: str | None
    qualifier: str | None
    error_type: str | None
    error_message: str | None
    occurred_at: datetime | None
    has_payload: bool
    payload: JsonValue
    payload_json: str | None
    """The payload's exact text, when the source kept it: what is replayed."""
    first_hop: FirstHop | None = None
    """An undelivered event's: what it is replayed as, and to whom."""
    no_payload_because: str | None = None
    """Why there is no payload, when the ledger knows (AWS dropped it)."""

    @classmethod
    def of(cls, failure: FailureRecord | LedgerEntry) -> "FailureFacts":
        if isinstance(failure, FailureRecord):
            error_type = failure.error.type if failure.error else None
            error_message = failure.error.message if failure.error else None
            has_payload, payload = failure.has_payload, failure.payload
            no_payload_because = None
        else:
            error_type, error_message = failure.error_type, failure.error_message
            has_payload = failure.has_payload or bool(failure.records)
            payload = {"Records": list(failure.records)} if failure.records else failure.payload
            no_payload_because = failure.payload_dropped_because
        return cls(
            failure_id=failure.failure_id,
            kind=failure.kind,
            condition=failure.condition,
            function_name=failure.function_name,
            function_arn=failure.function_arn,
            qualifier=failure.qualifier,
            error_type=error_type,
            error_message=error_message,
            occurred_at=failure.occurred_at,
            has_payload=has_payload,
            payload=payload,
            payload_json=failure.payload_json,
            first_hop=failure.first_hop,
            no_payload_because=no_payload_because,
        )

    def group(self, target: Target) -> Group:
        return (str(target), self.function_name, self.condition, self.error_type)

    def event(self) -> str:
        """The event to replay: as AWS wrote it when that text was kept."""
        return self.payload_json if self.payload_json is not None else dumps(self.payload)


def dumps(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def parse_json(text: str) -> tuple[bool, Any]:
    """(True, the value) when `text` is JSON, else (False, None)."""
    try:
        return True, json.loads(text)
    except (ValueError, RecursionError):
        return False, None

"""The ledger's entries counted by group: by function, error type, condition, or payload fingerprint.

A payload's fingerprint is the shape of the event, not its values: the set of keys and the JSON type
of each value, recursively (a list is the set of its items' shapes, whatever its length; an empty
list is a shape of its own). Two failures of the same bug on
two different orders have the same fingerprint; an event missing a field, or carrying a number where
a string was expected, has another. A Kinesis record's `data` is base64: its decoded JSON is what is
fingerprinted, or every Kinesis failure would look alike.

    groups = group_failures(ledger, LedgerFilter(function_name="order-events-dev"), by="fingerprint")
"""

import base64
import binascii
import hashlib
import json
from datetime import datetime
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from lambda_failure_toolkit.ledger.models import LedgerEntry, LedgerFilter, LedgerSummary, RedriveStatus
from lambda_failure_toolkit.ledger.store import FailureLedger

__all__ = ["GROUP_BY", "FailureGroup", "GroupBy", "Grouping", "group_failures", "payload_fingerprint"]

GroupBy = Literal["function", "error_type", "condition", "fingerprint"]
GROUP_BY: Final[tuple[GroupBy, ...]] = ("function", "error_type", "condition", "fingerprint")
_DEEPEST: Final = 32
"""Levels of a payload's shape that are told apart; below, any value is the same (a hostile payload
nested thousands deep must not exhaust the stack)."""
NO_PAYLOAD: Final = "no-payload"


class FailureGroup(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    """The function, error type, condition or fingerprint; `-` when the entries have none."""
    count: int
    pending: int
    """Not yet redriven."""
    first_seen: datetime
    last_seen: datetime
    example: str
    """The newest entry of the group: `dlq show` it."""


class Grouping(BaseModel):
    model_config = ConfigDict(frozen=True)

    by: GroupBy
    groups: tuple[FailureGroup, ...]
    """The largest group first."""
    entries_read: int
    more: bool
    """More entries match than the `limit` read: the groups count the newest ones only."""


def payload_fingerprint(entry: LedgerEntry) -> str:
    """A short hash of the entry's event shape (its records', for a stream failure)."""
    if entry.records:
        value: JsonValue = [_decoded(record) for record in entry.records]
    elif entry.has_payload:
        value = entry.payload
    else:
        return NO_PAYLOAD
    canonical = json.dumps(_shape(value, 0), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def group_failures(
    ledger: FailureLedger, selection: LedgerFilter | None, *, by: GroupBy, limit: int = 1000
) -> Grouping:
    """The newest `limit` entries matching `selection`, counted by `by`. A fingerprint needs the
    payload: each entry is then read whole (one more read an entry), the others use the listing alone."""
    counted: dict[str, list[LedgerSummary]] = {}
    read, more = 0, False
    for summary, _ in ledger.entries(selection):
        if read == limit:
            more = True
            break
        read += 1
        counted.setdefault(_key(ledger, summary, by), []).append(summary)
    groups = [
        FailureGroup(
            key=key,
            count=len(members),
            pending=sum(member.redrive_status is RedriveStatus.PENDING for member in members),
            first_seen=min(member.occurred_at for member in members),
            last_seen=max(member.occurred_at for member in members),
            example=max(members, key=lambda member: member.occurred_at).failure_id,
        )
        for key, members in counted.items()
    ]
    groups.sort(key=lambda group: (-group.count, -group.last_seen.timestamp(), group.key))
    return Grouping(by=by, groups=tuple(groups), entries_read=read, more=more)


def _key(ledger: FailureLedger, summary: LedgerSummary, by: GroupBy) -> str:
    match by:
        case "function":
            return summary.function_name or "-"
        case "error_type":
            return summary.error_type or "-"
        case "condition":
            return summary.condition or "-"
        case "fingerprint":
            return payload_fingerprint(ledger.get(summary.failure_id))


def _shape(value: JsonValue, depth: int) -> JsonValue:
    if depth >= _DEEPEST:
        return "..."
    if isinstance(value, dict):
        return {key: _shape(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list):
        shapes = {json.dumps(_shape(item, depth + 1), sort_keys=True) for item in value}
        return [json.loads(shape) for shape in sorted(shapes)]
    if isinstance(value, bool):  # before int: a bool is an int to Python
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def _decoded(record: dict[str, JsonValue]) -> JsonValue:
    """A Kinesis record with its `data` decoded when it is JSON; any other record as it is."""
    kinesis = record.get("kinesis")
    if not isinstance(kinesis, dict) or not isinstance(kinesis.get("data"), str):
        return record
    try:
        data = json.loads(base64.b64decode(str(kinesis["data"]), validate=True))
    except (binascii.Error, ValueError, RecursionError):
        return record
    return {**record, "kinesis": {**kinesis, "data": data}}

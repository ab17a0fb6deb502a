"""What the failure ledger holds: one entry per `failure_id`, its summary, and how to select entries."""

import json
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Final, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator, model_validator

from lambda_failure_toolkit.failures.json_text import DeepJson
from lambda_failure_toolkit.failures.record import Delivery, FailureKind, FirstHop, StreamPointer

__all__ = [
    "BodyLocation",
    "LedgerEntry",
    "LedgerFilter",
    "LedgerPage",
    "LedgerSummary",
    "PayloadStatus",
    "RedriveStatus",
    "Rehydration",
    "RehydrationStatus",
]


class RehydrationStatus(StrEnum):
    """What became of a stream failure's records (the on-failure record only points at them)."""

    NOT_APPLICABLE = "not_applicable"
    """Not a stream failure: the event itself is in the record."""
    COMPLETE = "complete"
    """Every record from the first to the last sequence number was read back."""
    FROM_PAYLOAD = "from_payload"
    """The record carried the whole batch event (an S3 destination's record): nothing to read."""
    PARTIAL = "partial"
    """Some records had already left the stream (retention) or could not be read to the end."""
    EXPIRED = "expired"
    """None could be read: past the stream's retention, or the stream or shard is gone."""
    UNREADABLE = "unreadable"
    """AWS refused the read for another reason (access denied, an invalid sequence number): the
    records may still be in the stream; `rehydration_reason` says what AWS answered."""
    UNSUPPORTED = "unsupported"
    """A Kafka failure: records are read back from the topic, which the consumer does not reach."""


class Rehydration(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: RehydrationStatus
    records: tuple[dict[str, DeepJson], ...] = ()
    """The records as Lambda delivers them in a batch event (`Records` items), oldest first."""
    reason: str | None = None
    """Why the records are not all there (PARTIAL, EXPIRED, UNSUPPORTED)."""


class PayloadStatus(StrEnum):
    """Whether the entry holds the event to redrive, said of every entry (it is derived, not stored)."""

    KEPT = "kept"
    """The event is in the entry (inline, or in the ledger's bucket)."""
    DROPPED = "dropped"
    """AWS wrote the record without the event: Lambda drops the payload of a destination record too
    large for its destination (SNS: 256 KB), and may with EventAgeExceeded. Nothing to redrive."""
    STREAM_RECORDS = "stream_records"
    """A stream failure: its records are in `records`, read back (`rehydration_status` says how many)."""


class RedriveStatus(StrEnum):
    PENDING = "pending"
    REDRIVEN = "redriven"
    QUARANTINED = "quarantined"
    """Replayed `max_replays` times already: a redrive by filter leaves it, unless it selects this
    status; naming it by id replays it."""


BodyLocation = Literal["inline", "s3"]

_LAMBDA_LAUNCH: Final = datetime(2014, 11, 13, tzinfo=UTC)
"""No Lambda failure is older: a filter reaching further back would only make the ledger read
empty days (one query each), or overflow the calendar."""
_CLOCK_SKEW: Final = timedelta(days=1)
"""How far in the future a filter's date may be (clocks and zones differ); no failure is dated later."""


def as_utc(value: datetime) -> datetime:
    """`value` in UTC (a naive value is taken to be UTC already).

    Raises:
        ValueError: the moment falls outside the calendar once converted (a pydantic validator's error).
    """
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:00:00-05:00 is in year 10000 in UTC
        raise ValueError("out of range once converted to UTC") from exc


class LedgerSummary(BaseModel):
    """An entry as listed: what failed, when, how; not the payload (read one entry for that)."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    failure_id: str
    kind: FailureKind
    condition: str | None = None
    function_name: str | None = None
    function_arn: str | None = None
    qualifier: str | None = None
    source_arn: str | None = None
    request_id: str | None = None
    attempts: int | None = None
    occurred_at: datetime
    """When AWS wrote the record (when the ledger first saw it, if AWS did not say)."""
    recorded_at: datetime
    error_type: str | None = None
    error_message: str | None = None
    rehydration_status: RehydrationStatus = RehydrationStatus.NOT_APPLICABLE
    body_location: BodyLocation = "inline"
    redrive_status: RedriveStatus = RedriveStatus.PENDING
    redrive_count: int = 0
    last_redriven_at: datetime | None = None

    _as_utc = field_validator("occurred_at", "recorded_at", "last_redriven_at")(
        lambda value: None if value is None else as_utc(value)
    )


class LedgerEntry(LedgerSummary):
    """A whole entry: the summary, the error's details, the delivery, and the original event(s)."""

    function_error: str | None = None
    status_code: int | None = None
    stack_trace: tuple[str, ...] = ()
    delivery: Delivery = Delivery()
    stream: StreamPointer | None = None
    payload: DeepJson = None
    """The original event (async, DLQ); for an S3 stream record, the whole batch event."""
    has_payload: bool = False
    payload_json: str | None = None
    """`payload` exactly as AWS wrote it, when the record came as text: what a redrive replays."""
    response_payload: DeepJson = None
    records: tuple[dict[str, DeepJson], ...] = ()
    """A stream failure's records, read back from the stream, as Lambda delivers them."""
    rehydration_reason: str | None = None
    first_hop: FirstHop | None = None
    """An undelivered event (delivery kind): the rule or topic, the target, EventBridge's error."""
    redrives: tuple[datetime, ...] = ()
    """When each redrive of it was delivered, oldest first (`redrive_count` of them, for entries
    redriven since the ledger kept this history)."""

    _redrives_as_utc = field_validator("redrives")(lambda values: tuple(as_utc(value) for value in values))

    @computed_field  # type: ignore[prop-decorator]
    @property
    def payload_status(self) -> PayloadStatus:
        if self.kind is FailureKind.STREAM:
            return PayloadStatus.STREAM_RECORDS
        return PayloadStatus.KEPT if self.has_payload else PayloadStatus.DROPPED

    @computed_field  # type: ignore[prop-decorator]
    @property
    def payload_dropped_because(self) -> str | None:
        """Why the event is not in the entry, when it is not (a stream failure aside)."""
        if self.payload_status is not PayloadStatus.DROPPED:
            return None
        if "sns" in self.delivery.channels:
            return (
                f"the {self.condition or 'failure'} record came through SNS, whose 256 KB limit it passed: "
                "Lambda dropped the event from it"
            )
        return (
            f"AWS wrote the {self.condition or 'failure'} record without the event (Lambda drops the payload "
            "of a record too large for its destination, and may when an event's age ran out)"
        )

    @model_validator(mode="before")
    @classmethod
    def _payload_from_its_text(cls, data: Any) -> Any:
        """The ledger keeps a payload's text alone, not its decoded value too (twice the size)."""
        if isinstance(data, dict) and data.get("payload_json") is not None and "payload" not in data:
            return {**data, "payload": json.loads(data["payload_json"])}
        return data


class LedgerFilter(BaseModel):
    """Which entries to list. `function_name` or `source_arn` selects an index; otherwise the days
    between `since` and `until` are read one by one (a week back from today when `since` is not
    given), from no later than today and no further back than an entry can still be kept."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    function_name: str | None = Field(default=None, min_length=1)
    source_arn: str | None = Field(default=None, min_length=1)
    since: datetime | None = None
    until: datetime | None = None
    kinds: frozenset[FailureKind] = frozenset()
    conditions: frozenset[str] = frozenset()
    error_types: frozenset[str] = frozenset()
    redrive_status: RedriveStatus | None = None
    request_id: str | None = Field(default=None, min_length=1)

    _as_utc = field_validator("since", "until")(lambda value: None if value is None else as_utc(value))

    @model_validator(mode="after")
    def _one_index(self) -> Self:
        if self.function_name and self.source_arn:
            raise ValueError("filter by function_name or by source_arn, not both")
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        latest = datetime.now(UTC) + _CLOCK_SKEW
        for name, moment in (("since", self.since), ("until", self.until)):
            if moment is not None and moment < _LAMBDA_LAUNCH:
                raise ValueError(f"{name} is before AWS Lambda's launch (2014-11-13): no failure is older")
            if moment is not None and moment > latest:
                raise ValueError(
                    f"{name} is in the future ({moment.isoformat()}): no failure is dated after now"
                )
        return self


class LedgerPage(BaseModel):
    model_config = ConfigDict(frozen=True)

    entries: tuple[LedgerSummary, ...]
    cursor: str | None
    """Pass it back as `cursor` to read the next page; None when there is no more."""

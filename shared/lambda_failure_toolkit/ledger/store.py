"""The failure ledger on DynamoDB (one item per `failure_id`) and S3 (bodies too big for an item).

Item layout (the table's key is `failure_id`; three sparse indexes share the sort key `list_key`,
`<occurred_at>#<failure_id>`, so each lists newest first):

- `by-function` (`function_name`), `by-source` (`source_arn`: the stream, or the DLQ a message was
  read from) and `by-day` (`day`, `YYYY-MM-DD` of `occurred_at`) project the summary only;
- `detail`: the error's details, the delivery, the stream pointer and the first hop, as JSON text;
- `body`: the original event(s) as JSON text. JSON text keeps every value exactly as AWS sent it,
  where DynamoDB's own types would turn floats into Decimals;
- when the item would pass `inline_limit` bytes (DynamoDB's limit is 400 KB), `detail` and `body`
  go to one S3 object instead, named in `body_s3` (`s3://bucket/key`);
- `expires_at`: the TTL, `retention_days` after the entry was recorded. Past it, an entry is gone
  for `get` and `list`, even before DynamoDB deletes it (which can take days).

The item is written once, with `attribute_not_exists(failure_id)`: a second delivery of the same
failure changes nothing. A body goes to S3 before its item is written, under a key derived from its
content, so a crash between the two leaves at worst an unreferenced object (the bucket's lifecycle
removes it), never an item whose body is missing.
"""

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from botocore.exceptions import ClientError

from lambda_failure_toolkit.ledger.models import (
    BodyLocation,
    LedgerEntry,
    LedgerFilter,
    LedgerPage,
    LedgerSummary,
    RedriveStatus,
)
from lambda_failure_toolkit.retry import RetryPolicy, error_code

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.service_resource import Table
    from mypy_boto3_s3 import S3Client

__all__ = [
    "DEFAULT_INLINE_LIMIT",
    "FailureLedger",
    "LedgerEntryNotFoundError",
    "LedgerError",
    "iso",
]

DEFAULT_INLINE_LIMIT: Final = 350 * 1024
"""Largest item kept whole in DynamoDB: under its 400 KB limit, with room for the index keys."""
_SUMMARY_FIELDS: Final = tuple(LedgerSummary.model_fields)
_DETAIL_FIELDS: Final = (
    "function_error",
    "status_code",
    "stack_trace",
    "delivery",
    "stream",
    "rehydration_reason",
    "first_hop",
)
_BODY_FIELDS: Final = ("payload", "payload_json", "has_payload", "response_payload", "records")
_INDEXES: Final = {"function_name": "by-function", "source_arn": "by-source", "day": "by-day"}
_DEFAULT_WINDOW: Final = timedelta(days=7)
_LONGEST_WAIT: Final = timedelta(days=14)
"""The longest a failure record can wait in a queue (SQS's retention) before the consumer records it:
an entry recorded today may have occurred that long before."""


class LedgerError(RuntimeError):
    """The ledger cannot answer: a missing body object, or a cursor it did not issue."""


class LedgerEntryNotFoundError(LedgerError, KeyError):
    def __init__(self, failure_id: str) -> None:
        self.failure_id = failure_id
        super().__init__(
            f"no ledger entry {failure_id!r} (expired after the retention period, or never recorded)"
        )

    def __str__(self) -> str:  # KeyError would show the message in quotes
        return str(self.args[0])


def iso(moment: datetime) -> str:
    """UTC, microseconds, `Z`: one fixed width, so the strings sort as the moments do."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class FailureLedger:
    def __init__(
        self,
        table: "Table",
        s3: "S3Client",
        bucket: str,
        *,
        retention_days: int = 90,
        inline_limit: int = DEFAULT_INLINE_LIMIT,
        body_prefix: str = "bodies/",
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._table = table
        self._s3 = s3
        self._bucket = bucket
        self._retention = timedelta(days=retention_days)
        self._inline_limit = inline_limit
        self._body_prefix = body_prefix
        self._retry = retry or RetryPolicy()
        self._clock = clock

    # ------------------------------------------------------------------ writing

    def exists(self, failure_id: str) -> bool:
        response = self._retry.call(
            self._table.get_item,
            Key={"failure_id": failure_id},
            ProjectionExpression="failure_id",
            ConsistentRead=True,
        )
        return "Item" in response

    def record(self, entry: LedgerEntry) -> BodyLocation | None:
        """Write `entry` unless its `failure_id` is already there. Returns where its body went
        (`inline` or `s3`), or None for a duplicate, which changes nothing."""
        item = _item(entry, self._retention)
        if _item_size(item) > self._inline_limit:
            # The error's details go along: a stack trace alone can be hundreds of KB.
            content = json.dumps(
                json.loads(item.pop("detail")) | json.loads(item.pop("body")), separators=(",", ":")
            ).encode()
            # Named by its content: two deliveries of one failure racing each other each write their
            # own object, and the item that wins the conditional put names the one it was built with.
            key = f"{self._body_prefix}{entry.failure_id}/{hashlib.sha256(content).hexdigest()[:32]}.json"
            self._retry.call(
                self._s3.put_object,
                Bucket=self._bucket,
                Key=key,
                Body=content,
                ContentType="application/json",
                # No ServerSideEncryption here: the bucket's default (SSE-KMS with the stack's key)
                # applies. Asking for aws:kms without a key id would pick aws/s3 over a customer key.
            )
            item["body_s3"] = f"s3://{self._bucket}/{key}"
            item["body_location"] = "s3"
        try:
            # The condition as text, not `Attr(...)`: a boto3 resource builds `Attr` conditions with one
            # builder per client, which threads writing at once would share (decision log 66).
            self._retry.call(
                self._table.put_item, Item=item, ConditionExpression="attribute_not_exists(failure_id)"
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise
        location: BodyLocation = item["body_location"]
        return location

    def mark_redriven(self, failure_id: str, *, at: datetime | None = None) -> None:
        """Count one more redrive of the entry, add when to its history (`redrives`), mark it redriven."""
        moment = iso(at or datetime.now(UTC))
        try:
            self._retry.call(
                self._table.update_item,
                Key={"failure_id": failure_id},
                UpdateExpression="SET redrive_status = :status, last_redriven_at = :at, "
                "redrives = list_append(if_not_exists(redrives, :none), :this) ADD redrive_count :one",
                ConditionExpression=Attr("failure_id").exists(),
                ExpressionAttributeValues={
                    ":status": RedriveStatus.REDRIVEN.value,
                    ":at": moment,
                    ":none": [],
                    ":this": [moment],
                    ":one": 1,
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise LedgerEntryNotFoundError(failure_id) from exc
            raise

    def quarantine(self, failure_id: str, *, at: datetime | None = None) -> None:
        """Mark the entry quarantined: replayed too often, a redrive by filter leaves it alone."""
        try:
            self._retry.call(
                self._table.update_item,
                Key={"failure_id": failure_id},
                UpdateExpression="SET redrive_status = :status, quarantined_at = :at",
                ConditionExpression=Attr("failure_id").exists(),
                ExpressionAttributeValues={
                    ":status": RedriveStatus.QUARANTINED.value,
                    ":at": iso(at or datetime.now(UTC)),
                },
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise LedgerEntryNotFoundError(failure_id) from exc
            raise

    # ------------------------------------------------------------------ reading

    def get(self, failure_id: str) -> LedgerEntry:
        """The whole entry, its body read back from S3 when it is stored there."""
        response = self._retry.call(self._table.get_item, Key={"failure_id": failure_id}, ConsistentRead=True)
        item = response.get("Item")
        # DynamoDB deletes expired items up to a few days late; the bucket's lifecycle may have
        # removed the body already. Past its TTL an entry is gone, whatever is left of it.
        if item is None or int(str(item["expires_at"])) <= self._clock().timestamp():
            raise LedgerEntryNotFoundError(failure_id)
        body = item.get("body")
        if body is None:
            body = self._read_body(str(item["body_s3"]))
        return LedgerEntry.model_validate(
            _summary_fields(item)
            | json.loads(str(item.get("detail", "{}")))
            | json.loads(str(body))
            | {"redrives": _texts(item.get("redrives"))}
        )

    def list(
        self, selection: LedgerFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> LedgerPage:
        """Entries matching `selection`, newest first, `limit` at most; pass `cursor` back, with the
        same `selection`, for the next page."""
        if not 1 <= limit <= 1000:
            raise ValueError(f"limit must be between 1 and 1000, not {limit}")
        entries: list[LedgerSummary] = []
        for summary, after in self.entries(selection, cursor=cursor):
            entries.append(summary)
            if len(entries) == limit:
                return LedgerPage(entries=tuple(entries), cursor=after)
        return LedgerPage(entries=tuple(entries), cursor=None)

    def entries(
        self,
        selection: LedgerFilter | None = None,
        *,
        cursor: str | None = None,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> Iterator[tuple[LedgerSummary, str]]:
        """Every entry matching `selection`, newest first, read lazily, each with the cursor that
        resumes right after it (a redrive that stops part way says where to go on). The listing
        ends early, before its next Query, once `keep_going()` is false (days can come back empty
        one after another: the caller's deadline must be checked between them too).

        Raises:
            LedgerError: `cursor` is not one this ledger returned for `selection` (raised here,
                before anything is read, not at the first entry).
        """
        selection = selection or LedgerFilter()
        fingerprint = _fingerprint(selection)
        position = _Position.decode(cursor, fingerprint) if cursor else None
        # The days listed are fixed by the first page, so that a later page never reads another day.
        # None after today: an `until` ahead of the clock lists the week before now, not before it.
        today = self._clock()
        newest_day = (
            position.newest_day if position else min(selection.until or today, today).date().isoformat()
        )
        # No day before the oldest entry that can still be kept (its retention, and its wait in a queue).
        oldest_kept = date.fromisoformat(newest_day) - (self._retention + _LONGEST_WAIT)
        attribute, partitions = _partitions(selection, newest_day, oldest_kept)
        first = 0
        if position:
            if position.partition not in partitions:
                raise _bad_cursor()
            first = partitions.index(position.partition)

        def read() -> Iterator[tuple[LedgerSummary, str]]:
            for partition in partitions[first:]:
                start_key = position.key if position and partition == position.partition else None
                for item in self._query(attribute, partition, selection, start_key, keep_going):
                    key = {name: item[name] for name in ("failure_id", "list_key", attribute)}
                    after = _Position(fingerprint, newest_day, partition, key).encode()
                    yield LedgerSummary.model_validate(_summary_fields(item)), after

        return read()

    def _query(
        self,
        attribute: str,
        value: str,
        selection: LedgerFilter,
        start_key: dict[str, Any] | None,
        keep_going: Callable[[], bool],
    ) -> Iterator[dict[str, Any]]:
        low = iso(selection.since) if selection.since else "0"
        high = f"{iso(selection.until)}~" if selection.until else "9"
        arguments: dict[str, Any] = {
            "IndexName": _INDEXES[attribute],
            "KeyConditionExpression": Key(attribute).eq(value) & Key("list_key").between(low, high),
            "FilterExpression": _filter_expression(selection, now=self._clock()),
            "ScanIndexForward": False,
        }
        while keep_going():
            if start_key:
                arguments["ExclusiveStartKey"] = start_key
            response = self._retry.call(self._table.query, **arguments)
            yield from response.get("Items", [])
            start_key = response.get("LastEvaluatedKey")
            if not start_key:
                return

    def _read_body(self, location: str) -> str:
        bucket, _, key = location.removeprefix("s3://").partition("/")
        try:
            response = self._retry.call(self._s3.get_object, Bucket=bucket, Key=key)
        except ClientError as exc:
            if error_code(exc) in {"NoSuchKey", "404"}:
                raise LedgerError(
                    f"the entry's body is missing from {location}: the object was deleted or expired by the "
                    "bucket's lifecycle rule before the entry's TTL; the entry's summary is all that is left"
                ) from exc
            raise
        return response["Body"].read().decode()


def _item(entry: LedgerEntry, retention: timedelta) -> dict[str, Any]:
    data = entry.model_dump(mode="json", exclude=set(_BODY_FIELDS))
    occurred = iso(entry.occurred_at)
    item: dict[str, Any] = {name: data[name] for name in _SUMMARY_FIELDS if data[name] is not None}
    item |= {
        "occurred_at": occurred,
        "recorded_at": iso(entry.recorded_at),
        "list_key": f"{occurred}#{entry.failure_id}",
        "day": occurred[:10],
        "body_location": "inline",
        "detail": json.dumps({name: data[name] for name in _DETAIL_FIELDS}, separators=(",", ":")),
        "body": _body(entry),
        "expires_at": int((entry.recorded_at + retention).timestamp()),
    }
    return item


def _body(entry: LedgerEntry) -> str:
    """The original event(s), by json itself (pydantic's serializer stops at a few hundred levels):
    the payload's exact text when there is one, not its decoded value too."""
    payload = (
        {"payload_json": entry.payload_json} if entry.payload_json is not None else {"payload": entry.payload}
    )
    body = payload | {
        "has_payload": entry.has_payload,
        "response_payload": entry.response_payload,
        "records": list(entry.records),
    }
    return json.dumps(body, separators=(",", ":"))


def _item_size(item: dict[str, Any]) -> int:
    """DynamoDB's measure, near enough: names and string values in UTF-8, numbers at most 21 bytes."""
    return sum(
        len(name.encode()) + (len(value.encode()) if isinstance(value, str) else 21)
        for name, value in item.items()
    )


def _texts(value: object) -> list[str]:
    return [str(text) for text in value] if isinstance(value, list) else []


def _summary_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        name: int(value) if name in {"attempts", "redrive_count"} else value
        for name, value in item.items()
        if name in LedgerSummary.model_fields
    }


def _partitions(selection: LedgerFilter, newest_day: str, oldest_kept: date) -> tuple[str, list[str]]:
    """The index attribute to query and its values, in the order they are read."""
    if selection.function_name:
        return "function_name", [selection.function_name]
    if selection.source_arn:
        return "source_arn", [selection.source_arn]
    newest = date.fromisoformat(newest_day)
    oldest = max(selection.since.date() if selection.since else newest - _DEFAULT_WINDOW, oldest_kept)
    return "day", [(newest - timedelta(days=back)).isoformat() for back in range((newest - oldest).days + 1)]


def _filter_expression(selection: LedgerFilter, *, now: datetime) -> ConditionBase:
    # Past its TTL an entry is gone, even while DynamoDB has not deleted it yet.
    combined: ConditionBase = Attr("expires_at").gt(int(now.timestamp()))
    if selection.kinds:
        combined &= Attr("kind").is_in(sorted(kind.value for kind in selection.kinds))
    if selection.conditions:
        combined &= Attr("condition").is_in(sorted(selection.conditions))
    if selection.error_types:
        combined &= Attr("error_type").is_in(sorted(selection.error_types))
    if selection.redrive_status:
        combined &= Attr("redrive_status").eq(selection.redrive_status.value)
    if selection.request_id:
        combined &= Attr("request_id").eq(selection.request_id)
    return combined


def _fingerprint(selection: LedgerFilter) -> str:
    """The same for the same filter in any process (sets sorted), so a cursor can be checked."""
    data = {
        name: sorted(value) if isinstance(value, list) else value
        for name, value in selection.model_dump(mode="json").items()
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _bad_cursor() -> LedgerError:
    return LedgerError(
        "the cursor is not one this ledger returned for this filter: list again without a cursor"
    )


@dataclass(frozen=True)
class _Position:
    """Where a page ended: the filter it belongs to, the days it lists, the partition and the last key."""

    fingerprint: str
    newest_day: str
    partition: str
    key: dict[str, Any]

    def encode(self) -> str:
        raw = json.dumps([self.fingerprint, self.newest_day, self.partition, self.key])
        return base64.urlsafe_b64encode(raw.encode()).decode()

    @classmethod
    def decode(cls, cursor: str, fingerprint: str) -> "_Position":
        try:
            decoded = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        except (ValueError, binascii.Error) as exc:
            raise _bad_cursor() from exc
        match decoded:
            case [str(found), str(newest_day), str(partition), dict(key)] if found == fingerprint and _is_day(
                newest_day
            ):
                return cls(found, newest_day, partition, key)
        raise _bad_cursor()


def _is_day(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True

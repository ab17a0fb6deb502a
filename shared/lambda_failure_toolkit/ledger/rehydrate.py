"""Stream rehydration: read a failed stream batch back from Kinesis or DynamoDB Streams.

A stream's on-failure record only points at the records (shard, first and last sequence number).
They stay readable only for the stream's retention (24 hours by default), so the consumer reads
them back at once: `GetShardIterator` AT_SEQUENCE_NUMBER on the first, then `GetRecords` up to
the last. The records are kept as Lambda delivers them in a batch event (`Records` items), so a
redrive can send them to the stream processor as they came, except `invokeIdentityArn` (Kinesis),
the role of the function invoked, which a redrive must fill in.

What cannot be read is said, never hidden: records already trimmed make the result PARTIAL or
EXPIRED, a read AWS refuses (access denied, a bad sequence number) UNREADABLE, each with the
reason, and the entry is recorded all the same: the pointer is what the ledger must not lose.
Throttling and other transient errors are retried within the invocation, then raised, so that the
message is delivered again while the records may still be read.
"""

import base64
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from botocore.exceptions import ClientError
from pydantic import JsonValue

from lambda_failure_toolkit.failures.record import FailureKind, FailureRecord, StreamPointer
from lambda_failure_toolkit.ledger.models import Rehydration, RehydrationStatus
from lambda_failure_toolkit.retry import ErrorClass, RetryPolicy, classify, error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_dynamodbstreams import DynamoDBStreamsClient
    from mypy_boto3_kinesis import KinesisClient

__all__ = ["StreamRehydrator"]

_GONE: Final = frozenset({"ResourceNotFoundException", "TrimmedDataAccessException"})
"""Errors that mean the records cannot be read any more: the stream or shard is gone, or the
position is past the retention (DynamoDB Streams says so). Should Kinesis answer from the oldest
record left instead, `_judge` sees the gap and reports it."""
_KINESIS_PAGE_LIMIT: Final = 10_000
_DYNAMODB_PAGE_LIMIT: Final = 1_000
_MAX_EMPTY_PAGES: Final = 5
"""DynamoDB Streams can answer an empty page before the records that follow; an open shard at its
tip answers empty pages for ever. After this many in a row, the read stops."""


class StreamRehydrator:
    def __init__(
        self,
        kinesis: "KinesisClient",
        dynamodb_streams: "DynamoDBStreamsClient",
        *,
        retry: RetryPolicy | None = None,
        max_pages: int = 100,
    ) -> None:
        self._kinesis = kinesis
        self._dynamodb_streams = dynamodb_streams
        self._retry = retry or RetryPolicy()
        self._max_pages = max_pages

    def rehydrate(self, failure: FailureRecord) -> Rehydration:
        if failure.kind is not FailureKind.STREAM or failure.stream is None:
            return Rehydration(status=RehydrationStatus.NOT_APPLICABLE)
        carried = failure.payload.get("Records") if isinstance(failure.payload, dict) else None
        if isinstance(carried, list) and all(isinstance(record, dict) for record in carried):
            return Rehydration(status=RehydrationStatus.FROM_PAYLOAD, records=tuple(carried))  # type: ignore[arg-type]
        pointer = failure.stream
        if pointer.source == "kafka":
            return Rehydration(
                status=RehydrationStatus.UNSUPPORTED,
                reason="Kafka records are read back from the topic at the offsets in `stream`; "
                "the consumer does not connect to Kafka",
            )
        if pointer.stream_arn is None or pointer.shard_id is None or pointer.start_sequence_number is None:
            return Rehydration(
                status=RehydrationStatus.UNSUPPORTED, reason="the record names no stream and shard"
            )
        read = self._kinesis_records if pointer.source == "kinesis" else self._dynamodb_records
        records: list[dict[str, JsonValue]] = []
        try:
            for record in read(pointer.stream_arn, pointer.shard_id, pointer):
                records.append(record)
        except ClientError as exc:
            if classify(exc) is ErrorClass.TRANSIENT:
                raise
            code = error_code(exc)
            if code not in _GONE:
                status = RehydrationStatus.UNREADABLE
            else:
                status = RehydrationStatus.PARTIAL if records else RehydrationStatus.EXPIRED
            return Rehydration(
                status=status,
                records=tuple(records),
                reason=f"{code} from {pointer.source}: {error_message(exc)}".strip(),
            )
        return _judge(pointer, records)

    def _kinesis_records(
        self, stream_arn: str, shard_id: str, pointer: StreamPointer
    ) -> Iterator[dict[str, JsonValue]]:
        first, last = pointer.ranges[0].first, pointer.ranges[0].last
        region = stream_arn.split(":")[3]
        iterator: str | None = self._retry.call(
            self._kinesis.get_shard_iterator,
            StreamARN=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            StartingSequenceNumber=first,
        )["ShardIterator"]
        read = 0
        for _ in range(self._max_pages):
            if iterator is None:
                return
            response = self._retry.call(
                self._kinesis.get_records,
                ShardIterator=iterator,
                StreamARN=stream_arn,
                Limit=_page_limit(pointer.batch_size - read, _KINESIS_PAGE_LIMIT),
            )
            for record in response["Records"]:
                sequence = record["SequenceNumber"]
                if _after(sequence, last):
                    return
                read += 1
                yield {
                    "kinesis": {
                        "kinesisSchemaVersion": "1.0",
                        "partitionKey": record["PartitionKey"],
                        "sequenceNumber": sequence,
                        "data": base64.b64encode(record["Data"]).decode(),
                        "approximateArrivalTimestamp": record["ApproximateArrivalTimestamp"].timestamp(),
                    },
                    "eventSource": "aws:kinesis",
                    "eventVersion": "1.0",
                    "eventID": f"{shard_id}:{sequence}",
                    "eventName": "aws:kinesis:record",
                    "awsRegion": region,
                    "eventSourceARN": stream_arn,
                }
                if sequence == last:
                    return
            iterator = response.get("NextShardIterator")
            if not response["Records"] and response.get("MillisBehindLatest") == 0:
                return  # at the tip of the shard: nothing more to come

    def _dynamodb_records(
        self, stream_arn: str, shard_id: str, pointer: StreamPointer
    ) -> Iterator[dict[str, JsonValue]]:
        first, last = pointer.ranges[0].first, pointer.ranges[0].last
        iterator: str | None = self._retry.call(
            self._dynamodb_streams.get_shard_iterator,
            StreamArn=stream_arn,
            ShardId=shard_id,
            ShardIteratorType="AT_SEQUENCE_NUMBER",
            SequenceNumber=first,
        )["ShardIterator"]
        read = empty = 0
        for _ in range(self._max_pages):
            if iterator is None or empty >= _MAX_EMPTY_PAGES:
                return
            response = self._retry.call(
                self._dynamodb_streams.get_records,
                ShardIterator=iterator,
                Limit=_page_limit(pointer.batch_size - read, _DYNAMODB_PAGE_LIMIT),
            )
            empty = 0 if response["Records"] else empty + 1
            for record in response["Records"]:
                change: dict[str, Any] = dict(record["dynamodb"])
                sequence = change["SequenceNumber"]
                if _after(sequence, last):
                    return
                read += 1
                if isinstance(created := change.get("ApproximateCreationDateTime"), datetime):
                    stamp = created.timestamp()
                    change["ApproximateCreationDateTime"] = int(stamp) if stamp.is_integer() else stamp
                lambda_record: dict[str, Any] = {
                    "eventID": record["eventID"],
                    "eventName": record["eventName"],
                    "eventVersion": record["eventVersion"],
                    "eventSource": "aws:dynamodb",
                    "awsRegion": record["awsRegion"],
                    "dynamodb": _json_safe(change),
                    "eventSourceARN": stream_arn,
                }
                if "userIdentity" in record:  # TTL deletions
                    lambda_record["userIdentity"] = dict(record["userIdentity"])
                yield lambda_record
                if sequence == last:
                    return
            iterator = response.get("NextShardIterator")


def _judge(pointer: StreamPointer, records: list[dict[str, JsonValue]]) -> Rehydration:
    first, last = pointer.ranges[0].first, pointer.ranges[0].last
    where = f"shard {pointer.shard_id} of {pointer.stream_arn}"
    if not records:
        return Rehydration(
            status=RehydrationStatus.EXPIRED,
            reason=f"no record from {first} to {last} is left on {where}: past the stream's retention",
        )
    sequences = [_sequence_of(record) for record in records]
    if sequences[0] != first:
        reason = f"the records from {first} to before {sequences[0]} had left {where} (retention)"
    elif sequences[-1] != last:
        reason = f"the read of {where} ended at {sequences[-1]}, before the last record {last}"
    else:
        return Rehydration(status=RehydrationStatus.COMPLETE, records=tuple(records))
    return Rehydration(status=RehydrationStatus.PARTIAL, records=tuple(records), reason=reason)


def _sequence_of(record: Mapping[str, Any]) -> str:
    return str(
        record["kinesis"]["sequenceNumber"] if "kinesis" in record else record["dynamodb"]["SequenceNumber"]
    )


def _after(sequence: str, last: str) -> bool:
    """Sequence numbers are decimal strings of varying length: compare them as numbers."""
    try:
        return int(sequence) > int(last)
    except ValueError:
        return (len(sequence), sequence) > (len(last), last)


def _page_limit(remaining: int, ceiling: int) -> int:
    return max(1, min(remaining, ceiling))


def _json_safe(value: Any) -> Any:
    """boto3 decodes binary attribute values (B, BS) to bytes; Lambda's events carry them in base64."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, Mapping):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_json_safe(item) for item in value]
    return value

"""Stream rehydration's edges, driven through fake Kinesis and DynamoDB Streams clients: pages that
stop early, shards at their tip or closed, records trimmed by retention, throttling, errors."""

import base64
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_failure_toolkit.failures import FailureRecord, parse_failure
from lambda_failure_toolkit.ledger import RehydrationStatus, StreamRehydrator
from lambda_failure_toolkit.retry import RetryPolicy
from tests.events import load_event

STREAM = "arn:aws:kinesis:eu-west-1:123456789012:stream/orders"
TABLE_STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/outbox/stream/2026-11-20T00:00:00.000"
ARRIVAL = datetime(2026, 11, 21, 10, tzinfo=UTC)


def error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": f"{code} happened"}}, "GetRecords")


class FakeShard:
    """Answers GetShardIterator / GetRecords from a list of pages (each a list of sequence numbers,
    or an exception to raise), like both Kinesis and DynamoDB Streams do."""

    def __init__(
        self,
        pages: list[list[int] | Exception],
        *,
        closed: bool = False,
        iterator_error: Exception | None = None,
    ) -> None:
        self.pages = pages
        self.closed = closed
        self.iterator_error = iterator_error
        self.limits: list[int] = []

    def get_shard_iterator(self, **kwargs: Any) -> dict[str, Any]:
        if self.iterator_error is not None:
            raise self.iterator_error
        return {"ShardIterator": "0"}

    def _page(self, iterator: str, limit: int) -> tuple[list[int], str | None]:
        self.limits.append(limit)
        number = int(iterator)
        page = self.pages[number] if number < len(self.pages) else []
        if isinstance(page, Exception):
            self.pages[number] = []  # raised once, then the page reads as empty (a passing throttle)
            raise page
        last_page = number + 1 >= len(self.pages)
        return page, None if (self.closed and last_page) else str(number + 1)


class FakeKinesis(FakeShard):
    def get_records(self, *, ShardIterator: str, Limit: int, **kwargs: Any) -> dict[str, Any]:  # noqa: N803 -- boto3's names
        page, following = self._page(ShardIterator, Limit)
        records = [
            {
                "SequenceNumber": str(s),
                "Data": f"r{s}".encode(),
                "PartitionKey": f"k{s}",
                "ApproximateArrivalTimestamp": ARRIVAL,
            }
            for s in page
        ]
        at_tip = int(ShardIterator) + 1 >= len(self.pages)
        return {
            "Records": records,
            "NextShardIterator": following,
            "MillisBehindLatest": 0 if at_tip else 1000,
        }


class FakeDynamoDBStreams(FakeShard):
    def get_records(self, *, ShardIterator: str, Limit: int) -> dict[str, Any]:  # noqa: N803
        page, following = self._page(ShardIterator, Limit)
        records = [
            {
                "eventID": f"e{s}",
                "eventName": "REMOVE",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "dynamodb": {
                    "ApproximateCreationDateTime": ARRIVAL.replace(microsecond=500_000 * (s % 2)),
                    "Keys": {"order_id": {"S": f"o-{s}"}},
                    "OldImage": {"blobs": {"BS": [b"\x00", b"\x01"]}, "tags": {"L": [{"B": b"\xff"}]}},
                    "SequenceNumber": str(s),
                    "SizeBytes": 30,
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                },
                "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
            }
            for s in page
        ]
        return {"Records": records, "NextShardIterator": following}


def stream_failure(
    sample: str, batch_info: str, stream_arn: str, *, first: int, last: int, batch_size: int
) -> FailureRecord:
    record = load_event(f"failures/destinations/stream/{sample}")
    record[batch_info] |= {
        "startSequenceNumber": str(first),
        "endSequenceNumber": str(last),
        "batchSize": batch_size,
        "streamArn": stream_arn,
    }
    return parse_failure(record)


def kinesis_failure(first: int, last: int, batch_size: int) -> FailureRecord:
    return stream_failure(
        "kinesis_retry_attempts_exhausted.json",
        "KinesisBatchInfo",
        STREAM,
        first=first,
        last=last,
        batch_size=batch_size,
    )


def dynamodb_failure(first: int, last: int, batch_size: int) -> FailureRecord:
    return stream_failure(
        "dynamodb_function_error.json",
        "DDBStreamBatchInfo",
        TABLE_STREAM,
        first=first,
        last=last,
        batch_size=batch_size,
    )


def rehydrator(kinesis: Any = None, streams: Any = None, **kwargs: Any) -> StreamRehydrator:
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.001, max_delay_s=0.001)
    return StreamRehydrator(
        kinesis or FakeKinesis([]), streams or FakeDynamoDBStreams([]), retry=retry, **kwargs
    )


def sequences(records: tuple[dict[str, Any], ...]) -> list[str]:
    return [
        r["kinesis"]["sequenceNumber"] if "kinesis" in r else r["dynamodb"]["SequenceNumber"] for r in records
    ]


def test_kinesis_reads_across_pages_and_stops_at_the_last_sequence_number() -> None:
    kinesis = FakeKinesis([[10, 11], [], [12, 13, 14]])
    result = rehydrator(kinesis).rehydrate(kinesis_failure(10, 13, batch_size=4))
    assert result.status is RehydrationStatus.COMPLETE
    assert sequences(result.records) == ["10", "11", "12", "13"]
    assert kinesis.limits == [4, 2, 2]  # never asks for more than the batch still missing
    assert base64.b64decode(result.records[0]["kinesis"]["data"]) == b"r10"  # type: ignore[index,call-overload,arg-type]
    assert result.records[0]["kinesis"]["approximateArrivalTimestamp"] == ARRIVAL.timestamp()  # type: ignore[index,call-overload]


def test_kinesis_stops_at_a_record_past_the_last_one_when_the_last_is_missing() -> None:
    result = rehydrator(FakeKinesis([[10, 12]])).rehydrate(kinesis_failure(10, 11, batch_size=2))
    assert result.status is RehydrationStatus.PARTIAL
    assert sequences(result.records) == ["10"]
    assert result.reason is not None
    assert "before the last record 11" in result.reason


def test_kinesis_at_the_tip_of_an_open_shard_stops_instead_of_polling_for_ever() -> None:
    kinesis = FakeKinesis([[10], []])
    result = rehydrator(kinesis).rehydrate(kinesis_failure(10, 11, batch_size=2))
    assert result.status is RehydrationStatus.PARTIAL
    assert len(kinesis.limits) == 2


def test_a_closed_shard_read_to_its_end_stops() -> None:
    result = rehydrator(FakeKinesis([[10]], closed=True)).rehydrate(kinesis_failure(10, 11, batch_size=2))
    assert result.status is RehydrationStatus.PARTIAL
    assert sequences(result.records) == ["10"]


def test_reading_stops_after_max_pages() -> None:
    kinesis = FakeKinesis([[]] * 50 + [[10]])
    result = rehydrator(kinesis, max_pages=5).rehydrate(kinesis_failure(10, 10, batch_size=1))
    assert result.status is RehydrationStatus.EXPIRED
    assert len(kinesis.limits) == 5


def test_records_trimmed_before_the_first_make_a_partial_result() -> None:
    result = rehydrator(FakeKinesis([[12, 13]])).rehydrate(kinesis_failure(10, 13, batch_size=4))
    assert result.status is RehydrationStatus.PARTIAL
    assert result.reason is not None
    assert "from 10 to before 12 had left" in result.reason


def test_a_throttled_read_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("lambda_failure_toolkit.retry.policy.time.sleep", lambda _: None)
    kinesis = FakeKinesis([error("ProvisionedThroughputExceededException"), [10]])
    result = rehydrator(kinesis).rehydrate(kinesis_failure(10, 10, batch_size=1))
    assert result.status is RehydrationStatus.COMPLETE


def test_a_missing_stream_is_expired_with_the_reason() -> None:
    kinesis = FakeKinesis([], iterator_error=error("ResourceNotFoundException"))
    result = rehydrator(kinesis).rehydrate(kinesis_failure(10, 11, batch_size=2))
    assert result.status is RehydrationStatus.EXPIRED
    assert result.reason == "ResourceNotFoundException from kinesis: ResourceNotFoundException happened"


def test_records_read_before_the_stream_vanished_are_kept() -> None:
    result = rehydrator(FakeKinesis([[10], error("ResourceNotFoundException")])).rehydrate(
        kinesis_failure(10, 12, batch_size=3)
    )
    assert result.status is RehydrationStatus.PARTIAL
    assert sequences(result.records) == ["10"]


@pytest.mark.parametrize("code", ["AccessDeniedException", "InvalidArgumentException"])
def test_a_read_aws_refuses_is_unreadable_with_aws_answer_and_nothing_is_raised(code: str) -> None:
    kinesis = FakeKinesis([], iterator_error=error(code))
    result = rehydrator(kinesis).rehydrate(kinesis_failure(10, 11, batch_size=2))
    assert result.status is RehydrationStatus.UNREADABLE
    assert result.reason == f"{code} from kinesis: {code} happened"


def test_a_throttle_that_outlasts_the_retries_is_raised_so_the_message_is_delivered_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("lambda_failure_toolkit.retry.policy.time.sleep", lambda _: None)
    kinesis = FakeKinesis([], iterator_error=error("ProvisionedThroughputExceededException"))
    with pytest.raises(ClientError, match="ProvisionedThroughputExceededException"):
        rehydrator(kinesis).rehydrate(kinesis_failure(10, 11, batch_size=2))


def test_dynamodb_records_come_back_in_lambdas_event_format() -> None:
    result = rehydrator(streams=FakeDynamoDBStreams([[5], [6]])).rehydrate(
        dynamodb_failure(5, 6, batch_size=2)
    )
    assert result.status is RehydrationStatus.COMPLETE
    first, second = result.records
    assert first["eventSourceARN"] == TABLE_STREAM
    assert first["userIdentity"] == {
        "type": "Service",
        "principalId": "dynamodb.amazonaws.com",
    }  # a TTL delete
    change = first["dynamodb"]
    # Epoch seconds as Lambda sends them: whole seconds as an integer, a fraction kept when there is one
    assert change["ApproximateCreationDateTime"] == ARRIVAL.timestamp() + 0.5  # type: ignore[index,call-overload]
    assert second["dynamodb"]["ApproximateCreationDateTime"] == int(ARRIVAL.timestamp())  # type: ignore[index,call-overload]
    assert isinstance(second["dynamodb"]["ApproximateCreationDateTime"], int)  # type: ignore[index,call-overload]
    assert change["OldImage"] == {"blobs": {"BS": ["AA==", "AQ=="]}, "tags": {"L": [{"B": "/w=="}]}}  # type: ignore[index,call-overload]


def test_dynamodb_stops_after_several_empty_pages() -> None:
    streams = FakeDynamoDBStreams([[5]] + [[]] * 20 + [[6]])
    result = rehydrator(streams=streams).rehydrate(dynamodb_failure(5, 6, batch_size=2))
    assert result.status is RehydrationStatus.PARTIAL
    assert len(streams.limits) == 6  # the page with a record, then five empty ones


def test_dynamodb_trimmed_position_is_expired() -> None:
    streams = FakeDynamoDBStreams([], iterator_error=error("TrimmedDataAccessException"))
    result = rehydrator(streams=streams).rehydrate(dynamodb_failure(5, 6, batch_size=2))
    assert result.status is RehydrationStatus.EXPIRED
    assert result.reason is not None
    assert result.reason.startswith("TrimmedDataAccessException from dynamodb")


def test_dynamodb_stops_past_the_last_sequence_number() -> None:
    result = rehydrator(streams=FakeDynamoDBStreams([[5, 7]], closed=True)).rehydrate(
        dynamodb_failure(5, 6, batch_size=2)
    )
    assert sequences(result.records) == ["5"]


@pytest.mark.parametrize(
    ("sample", "status"),
    [
        ("failures/destinations/async/retries_exhausted.json", RehydrationStatus.NOT_APPLICABLE),
        ("failures/destinations/s3/kinesis_object_payload.json", RehydrationStatus.FROM_PAYLOAD),
        ("failures/destinations/s3/kinesis_object_escaped_payload.json", RehydrationStatus.FROM_PAYLOAD),
        (
            "failures/destinations/stream/kafka_maximum_payload_size_exceeded.json",
            RehydrationStatus.UNSUPPORTED,
        ),
        ("failures/destinations/stream/kafka_topic_destination_record.json", RehydrationStatus.UNSUPPORTED),
    ],
)
def test_records_that_need_no_read_or_cannot_be_read(sample: str, status: RehydrationStatus) -> None:
    kinesis = FakeKinesis([], iterator_error=AssertionError("no read expected"))
    failure = parse_failure(load_event(sample))
    result = rehydrator(
        kinesis, FakeDynamoDBStreams([], iterator_error=AssertionError("no read expected"))
    ).rehydrate(failure)
    assert result.status is status
    if status is RehydrationStatus.FROM_PAYLOAD:
        assert isinstance(failure.payload, dict)
        assert list(result.records) == failure.payload["Records"]


def test_a_stream_record_without_a_shard_is_unsupported() -> None:
    record = load_event("failures/destinations/stream/kinesis_retry_attempts_exhausted.json")
    failure = parse_failure(record)
    assert failure.stream is not None
    shardless = failure.model_copy(update={"stream": failure.stream.model_copy(update={"stream_arn": None})})
    assert rehydrator().rehydrate(shardless).status is RehydrationStatus.UNSUPPORTED


def test_sequence_numbers_that_are_not_decimal_still_compare() -> None:
    from lambda_failure_toolkit.ledger.rehydrate import _after

    assert _after("49590338271490256608559692538361571095921575989136588898", "9")
    assert not _after("abc", "abd")
    assert _after("abcd", "abd")

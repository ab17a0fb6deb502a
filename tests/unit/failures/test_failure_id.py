"""failure_id: the same record always gives the same id; two different failures never share one."""

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_failure_toolkit.failures import FailureKind, parse_failure
from lambda_failure_toolkit.failures.record import make_failure_id
from tests.events import event_files, load_event

PARSEABLE = [*event_files("failures/destinations"), "failures/eventbridge/invocation_failure.json"]


@pytest.mark.parametrize("relative", PARSEABLE)
def test_same_record_parsed_twice_gives_same_id(relative: str) -> None:
    assert parse_failure(load_event(relative)).failure_id == parse_failure(load_event(relative)).failure_id


def test_every_sample_failure_has_its_own_id_except_copies_of_one_failure() -> None:
    ids: dict[str, set[str]] = {}
    for relative in event_files("failures/destinations"):
        ids.setdefault(parse_failure(load_event(relative)).failure_id, set()).add(relative)
    shared_ids = [files for files in ids.values() if len(files) > 1]
    # Only the same failure written to two destinations shares an id.
    assert sorted(map(sorted, shared_ids)) == [
        ["failures/destinations/async/retries_exhausted.json", "failures/destinations/s3/async_object.json"],
        [
            "failures/destinations/s3/kinesis_object_escaped_payload.json",
            "failures/destinations/s3/kinesis_object_payload.json",
            "failures/destinations/stream/kinesis_retry_attempts_exhausted.json",
        ],
    ]


Mutation = Callable[[dict[str, Any]], Any]
ASYNC_IDENTITY: list[Mutation] = [
    lambda r: r["requestContext"].update(requestId="another-request"),
    lambda r: r["requestContext"].update(
        functionArn=r["requestContext"]["functionArn"].replace("$LATEST", "live")
    ),
    lambda r: r["requestContext"].update(
        functionArn=r["requestContext"]["functionArn"].replace("orders", "other")
    ),
    lambda r: r["requestContext"].update(condition="EventAgeExceeded"),
]
STREAM_IDENTITY: list[Mutation] = [
    lambda r: r["requestContext"].update(requestId="another-request"),
    lambda r: r["requestContext"].update(condition="RecordAgeExceeded"),
    lambda r: r["KinesisBatchInfo"].update(shardId="shardId-000000000004"),
    lambda r: r["KinesisBatchInfo"].update(startSequenceNumber="1"),
    lambda r: r["KinesisBatchInfo"].update(endSequenceNumber="2"),
    lambda r: r["KinesisBatchInfo"].update(streamArn="arn:aws:kinesis:eu-west-1:123456789012:stream/other"),
]
NOT_IDENTITY: list[Mutation] = [
    lambda r: r["requestContext"].update(approximateInvokeCount=9),
    lambda r: r.update(timestamp="2030-01-01T00:00:00.000Z"),
    lambda r: r.update(extraKey=True),
]


def _id_after(relative: str, mutate: Mutation) -> str:
    raw = copy.deepcopy(load_event(relative))
    mutate(raw)
    return parse_failure(raw).failure_id


@pytest.mark.parametrize("mutate", ASYNC_IDENTITY)
def test_changing_what_identifies_an_async_failure_changes_its_id(mutate: Mutation) -> None:
    relative = "failures/destinations/async/retries_exhausted.json"
    assert _id_after(relative, mutate) != parse_failure(load_event(relative)).failure_id


@pytest.mark.parametrize("mutate", STREAM_IDENTITY)
def test_changing_what_identifies_a_stream_failure_changes_its_id(mutate: Mutation) -> None:
    relative = "failures/destinations/stream/kinesis_retry_attempts_exhausted.json"
    assert _id_after(relative, mutate) != parse_failure(load_event(relative)).failure_id


@pytest.mark.parametrize("mutate", NOT_IDENTITY)
def test_what_does_not_identify_a_failure_leaves_its_id(mutate: Mutation) -> None:
    relative = "failures/destinations/async/retries_exhausted.json"
    assert _id_after(relative, mutate) == parse_failure(load_event(relative)).failure_id


def test_kafka_partitions_enter_the_id() -> None:
    relative = "failures/destinations/stream/kafka_maximum_payload_size_exceeded.json"
    raw = load_event(relative)
    raw["KafkaBatchInfo"]["recordsInfo"]["orders-placed-1"]["lastRecordOffset"] = "99999"
    assert parse_failure(raw).failure_id != parse_failure(load_event(relative)).failure_id


def test_dlq_id_is_the_request_id_whatever_the_envelope() -> None:
    ids = {
        parse_failure(load_event(relative)["Records"][0]).failure_id
        for relative in (
            "failures/dlq/sqs_lambda_dlq.json",
            "failures/dlq/sns_lambda_dlq.json",
            "failures/dlq/sqs_from_sns_lambda_dlq.json",
        )
    }
    assert len(ids) == 1


identity_parts = st.lists(st.one_of(st.none(), st.text(max_size=20)), min_size=1, max_size=5)


@given(a=identity_parts, b=identity_parts)
def test_distinct_identities_never_share_an_id(a: list[str | None], b: list[str | None]) -> None:
    # The canonical form is unambiguous: no separator or None/"" trick makes two identities collide.
    if a != b:
        assert make_failure_id(FailureKind.STREAM, *a) != make_failure_id(FailureKind.STREAM, *b)
    assert make_failure_id(FailureKind.ASYNC, *a) != make_failure_id(FailureKind.DLQ, *a)

"""The consumer's batch report (metrics, the one alert) and the ledger's models and item layout."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from lambda_failure_toolkit.failures import FailureKind, FailureRecord, parse_failure
from lambda_failure_toolkit.ledger import (
    BatchReport,
    Consumed,
    ConsumedAs,
    LedgerEntry,
    LedgerFilter,
    PayloadStatus,
    Rehydration,
    RehydrationStatus,
)
from lambda_failure_toolkit.ledger.consumer import _is_s3_test_event, ledger_entry
from lambda_failure_toolkit.ledger.report import first_hop_advice
from lambda_failure_toolkit.ledger.store import _item, _item_size, iso
from tests.events import FIRST_HOP_DLQS, load_event


def recorded(
    n: int, function: str = "fn", condition: str = "RetriesExhausted", error: str | None = "ValueError"
) -> list[Consumed]:
    return [
        Consumed(ConsumedAs.RECORDED, f"async-{function}-{i}", function, condition, error) for i in range(n)
    ]


def test_a_batch_of_duplicates_and_ignored_records_does_not_alert() -> None:
    report = BatchReport()
    report.add([Consumed(ConsumedAs.DUPLICATE, "a"), Consumed(ConsumedAs.IGNORED, None)])
    assert not report.worth_alerting
    report.unreadable = 1  # a redelivery of a message already alerted on
    assert not report.worth_alerting
    report.newly_unreadable = 1
    assert report.worth_alerting


def test_the_alert_groups_by_function_condition_and_error_type_and_lists_ids() -> None:
    report = BatchReport()
    report.add(recorded(3, "fn-a") + recorded(1, "fn-b", "EventAgeExceeded", None))
    subject, text = report.alert("failure-ledger-dev")
    assert subject == "4 new Lambda failure(s) recorded"
    lines = text.splitlines()
    assert lines[0] == "The failure consumer recorded 4 new failure(s) in the ledger failure-ledger-dev."
    header = next(i for i, line in enumerate(lines) if line.startswith("function"))
    assert lines[header + 1].split() == ["fn-a", "RetriesExhausted", "ValueError", "3"]
    assert lines[header + 2].split() == ["fn-b", "EventAgeExceeded", "none", "1"]
    for consumed in report.consumed:
        assert consumed.failure_id in text


def test_a_big_batch_names_twenty_ids_and_counts_the_rest() -> None:
    report = BatchReport()
    report.add(recorded(25))
    report.unreadable = 2
    subject, text = report.alert("ledger")
    assert subject == "25 new Lambda failure(s) recorded, 2 unreadable"
    assert "async-fn-19" in text
    assert "async-fn-20" not in text
    assert "... and 5 more" in text
    assert "2 message(s) could not be recorded" in text


def test_lost_stream_records_are_named_in_the_alert() -> None:
    report = BatchReport()
    report.add(
        [
            Consumed(
                ConsumedAs.RECORDED,
                "stream-1",
                "fn",
                "RetryAttemptsExhausted",
                None,
                RehydrationStatus.EXPIRED,
            )
        ]
    )
    report.add(
        [
            Consumed(
                ConsumedAs.RECORDED,
                "stream-2",
                "fn",
                "RetryAttemptsExhausted",
                None,
                RehydrationStatus.COMPLETE,
            )
        ]
    )
    _, text = report.alert("ledger")
    assert "not all read back for: stream-1 " in text
    assert [c.failure_id for c in report.lost_stream_records] == ["stream-1"]


def test_s3_test_events_are_told_from_other_bodies() -> None:
    assert _is_s3_test_event({"body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent"})})
    assert not _is_s3_test_event({"body": "not json"})
    assert not _is_s3_test_event({"body": "[1]"})
    assert not _is_s3_test_event({})


def test_a_filter_names_one_index_and_an_ordered_window() -> None:
    with pytest.raises(ValidationError, match="not both"):
        LedgerFilter(function_name="fn", source_arn="arn:aws:sqs:eu-west-1:1:q")
    with pytest.raises(ValidationError, match="since is after until"):
        LedgerFilter(since=datetime(2026, 11, 21, tzinfo=UTC), until=datetime(2026, 11, 20, tzinfo=UTC))
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        LedgerFilter(functon_name="fn")  # type: ignore[call-arg]
    naive = LedgerFilter(since=datetime(2026, 11, 21, 10))
    assert naive.since == datetime(2026, 11, 21, 10, tzinfo=UTC)


def test_iso_sorts_as_the_moments_do_whatever_their_zone() -> None:
    paris = timezone(timedelta(hours=1))
    moments = [
        datetime(2026, 11, 21, 10, 0, 0, 1, tzinfo=UTC),
        datetime(2026, 11, 21, 10, 30, tzinfo=paris),
        datetime(2026, 11, 21, 9, 59, 59, tzinfo=UTC),
    ]
    assert sorted(moments) == sorted(moments, key=iso)
    assert iso(moments[1]) == "2026-11-21T09:30:00.000000Z"


def entry(sample: str) -> LedgerEntry:
    event = load_event(sample)
    failure = parse_failure(event["Records"][0] if "Records" in event else event)
    return ledger_entry(
        failure,
        Rehydration(status=RehydrationStatus.NOT_APPLICABLE),
        recorded_at=datetime(2026, 11, 21, tzinfo=UTC),
    )


def test_an_item_keeps_the_body_as_exact_json_and_sorts_by_occurrence() -> None:
    e = entry("failures/destinations/async/retries_exhausted.json")
    item = _item(e, timedelta(days=90))
    assert item["list_key"] == f"{iso(e.occurred_at)}#{e.failure_id}"
    assert item["day"] == iso(e.occurred_at)[:10]
    assert item["expires_at"] == int((e.recorded_at + timedelta(days=90)).timestamp())
    assert json.loads(item["body"])["payload"] == e.payload
    assert "stack_trace" in json.loads(item["detail"])
    assert not {
        name for name, value in item.items() if value is None
    }  # DynamoDB refuses null keys in indexes
    assert _item_size(item) > len(item["body"])


def test_an_entry_without_a_time_from_aws_is_dated_when_recorded() -> None:
    # A DLQ message read with ReceiveMessage without its attributes carries no SentTimestamp.
    event = load_event("failures/dlq/sqs_lambda_dlq.json")
    failure = parse_failure(event["Records"][0]).model_copy(update={"occurred_at": None})
    assert failure.kind is FailureKind.DLQ
    recorded_at = datetime(2026, 11, 21, 8, tzinfo=UTC)
    e = ledger_entry(failure, Rehydration(status=RehydrationStatus.NOT_APPLICABLE), recorded_at=recorded_at)
    assert e.occurred_at == recorded_at


def test_a_long_error_message_is_cut_in_the_summary_only() -> None:
    record = load_event("failures/destinations/async/retries_exhausted.json")
    record["responsePayload"]["errorMessage"] = "x" * 5000
    failure = parse_failure(record)
    e = ledger_entry(
        failure, Rehydration(status=RehydrationStatus.NOT_APPLICABLE), recorded_at=datetime.now(UTC)
    )
    assert e.error_message is not None
    assert len(e.error_message) == 1024
    assert isinstance(e.response_payload, dict)
    assert len(e.response_payload["errorMessage"]) == 5000  # type: ignore[arg-type]


# ---------------------------------------------------------------- the first hop, and dropped payloads


def first_hop(sample: str, index: int = 0) -> FailureRecord:
    return parse_failure(load_event(sample)["Records"][index], first_hop_dlqs=FIRST_HOP_DLQS)


def recorded_as(failure: FailureRecord) -> Consumed:
    error_type = failure.error.type if failure.error else None
    return Consumed(
        ConsumedAs.RECORDED,
        failure.failure_id,
        failure.function_name,
        failure.condition,
        error_type,
        advice=first_hop_advice(failure),
    )


def test_a_missing_permission_is_told_as_a_permission_problem_naming_the_policy_to_check() -> None:
    advice = first_hop_advice(first_hop("failures/first-hop/eventbridge_no_permissions.json"))
    assert advice is not None
    assert advice.startswith("NO_PERMISSIONS: EventBridge may not invoke arn:aws:lambda:eu-west-1:")
    assert "A permission problem, not a transient one" in advice
    assert "resource-based policy" in advice
    assert (
        "aws lambda get-policy --function-name arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev"
        in advice
    )
    assert "events.amazonaws.com" in advice
    assert "SourceArn arn:aws:events:eu-west-1:123456789012:rule/order-events-dev" in advice


def test_a_deleted_target_and_retries_that_ran_out_are_told_apart() -> None:
    throttled = first_hop("failures/first-hop/eventbridge_retries_exhausted.json", 0)
    deleted = first_hop("failures/first-hop/eventbridge_retries_exhausted.json", 1)
    assert (first_hop_advice(deleted) or "").startswith("NO_RESOURCE: arn:aws:lambda:")
    throttled_advice = first_hop_advice(throttled) or ""
    assert throttled_advice.startswith("THROTTLING: EventBridge could not invoke")
    assert "after 37 retries (MaximumEventAgeInSeconds)" in throttled_advice
    assert "permission" not in throttled_advice


def test_an_sns_subscription_failure_names_the_topic_the_subscription_and_what_to_check() -> None:
    advice = first_hop_advice(first_hop("failures/first-hop/sns_subscription.json")) or ""
    assert "the subscription arn:aws:sns:eu-west-1:123456789012:order-events-dev:5c7e9a1b" in advice
    assert "sns.amazonaws.com" in advice
    assert "target.function" in advice  # the message does not name the subscriber
    assert (
        first_hop_advice(parse_failure(load_event("failures/destinations/async/retries_exhausted.json")))
        is None
    )


def test_the_alert_counts_permission_problems_in_its_subject_and_gives_each_advice_once() -> None:
    report = BatchReport()
    no_permissions = first_hop("failures/first-hop/eventbridge_no_permissions.json")
    report.add([recorded_as(no_permissions), recorded_as(no_permissions), *recorded(1)])
    subject, text = report.alert("ledger")
    assert subject == "3 new Lambda failure(s) recorded, 2 permission problem(s)"
    assert "2 event(s) never reached their function (the first hop):" in text
    assert text.count("NO_PERMISSIONS: EventBridge may not invoke") == 1
    assert [item.failure_id for item in report.undelivered] == [no_permissions.failure_id] * 2


def async_entry(record: dict[str, object], channels: tuple[str, ...] = ()) -> LedgerEntry:
    failure = parse_failure(record)
    failure = failure.model_copy(
        update={"delivery": failure.delivery.model_copy(update={"channels": channels})}
    )
    return ledger_entry(
        failure, Rehydration(status=RehydrationStatus.NOT_APPLICABLE), recorded_at=datetime.now(UTC)
    )


def test_a_record_whose_payload_aws_dropped_says_so_and_why() -> None:
    record = load_event("failures/destinations/async/retries_exhausted.json")
    without = {
        key: value for key, value in record.items() if key not in {"requestPayload", "responsePayload"}
    }
    via_sns = async_entry(without, ("sqs", "sns"))
    assert via_sns.payload_status is PayloadStatus.DROPPED
    assert via_sns.payload_dropped_because is not None
    assert "through SNS, whose 256 KB limit" in via_sns.payload_dropped_because
    direct = async_entry(without)
    assert direct.payload_status is PayloadStatus.DROPPED
    assert "without the event" in (direct.payload_dropped_because or "")
    kept = async_entry(record)
    assert (kept.payload_status, kept.payload_dropped_because) == (PayloadStatus.KEPT, None)
    assert entry("failures/destinations/stream/kinesis_retry_attempts_exhausted.json").payload_status is (
        PayloadStatus.STREAM_RECORDS
    )
    # Derived from what is stored, so an entry written before reads the same; and shown in its dump
    assert LedgerEntry.model_validate(via_sns.model_dump()).payload_status is PayloadStatus.DROPPED
    assert via_sns.model_dump(mode="json")["payload_status"] == "dropped"


def test_dropped_payloads_and_undelivered_events_are_counted_and_named() -> None:
    report = BatchReport()
    report.add(
        [
            Consumed(
                ConsumedAs.RECORDED, "async-1", "fn", "RetriesExhausted", None, payload=PayloadStatus.DROPPED
            ),
            recorded_as(first_hop("failures/first-hop/sns_subscription.json")),
        ]
    )
    _, text = report.alert("ledger")
    assert "1 record(s) came without their event, which AWS dropped: async-1" in text
    assert [item.failure_id for item in report.dropped_payloads] == ["async-1"]
    assert len(report.undelivered) == 1

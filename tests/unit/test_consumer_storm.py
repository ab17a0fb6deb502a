"""The consumer-storm benchmark's records and verdicts: what "exactly 10,000, one alert per batch" rests on."""

import dataclasses
import json
from collections import Counter

from benchmarks.consumer_storm import Storm, expected_failure_id, storm_entries, verdicts
from lambda_failure_toolkit.failures import FailureKind


def test_the_storms_records_are_a_mix_the_consumer_accepts_each_with_its_own_failure_id() -> None:
    # Given a storm of 1,000 records
    entries = storm_entries(1000, "t")
    # When each is read as the consumer reads it
    ids = [expected_failure_id(entry) for entry in entries]
    kinds = Counter(failure_id.split("-")[0] for failure_id in ids)
    # Then every record is a distinct failure: 4 in 10 async, 3 DLQ, 3 stream pointers (2 Kinesis, 1 DynamoDB)
    assert len(set(ids)) == 1000
    assert kinds == {FailureKind.ASYNC.value: 400, FailureKind.DLQ.value: 300, FailureKind.STREAM.value: 300}
    dynamodb = [entry for entry in entries if "DDBStreamBatchInfo" in json.loads(entry["MessageBody"])]
    assert len(dynamodb) == 100
    # And a second storm (another tag) shares no failure with the first
    assert not set(ids) & {expected_failure_id(entry) for entry in storm_entries(1000, "u")}


def test_the_verdicts_say_when_the_ledger_is_not_exact_or_alerts_come_per_failure() -> None:
    good = Storm(10_000, 15.0, 52.0, 192.3, 10_000, 0, 0, 1000, 10_000, 0, 17.0, 1667.0, 3593.0, 658.0)
    assert verdicts(good) == [
        "ledger: 10000 entries for 10000 records, 0 missing, 0 unexpected: exact",
        "alerts: 1000 for 10000 recorded failures (at least 1000 batches of 10): one per batch",
        "consumer's DLQ: 0 messages",
    ]
    lost = dataclasses.replace(good, ledger_entries=9_999, missing=1, alerted_records=9_999)
    per_failure = dataclasses.replace(good, alerts=10_000)
    assert verdicts(lost)[0].endswith("NOT EXACT")
    assert verdicts(lost)[1].endswith("NOT one per batch")
    assert verdicts(per_failure)[1].endswith("NOT one per batch")

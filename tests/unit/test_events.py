"""The sample events are what AWS really sends: checks AWS itself would make."""

import hashlib
from typing import Any

import pytest

from tests.events import event_files, load_event


def _sqs_records() -> list[tuple[str, dict[str, Any]]]:
    return [
        (relative, record)
        for relative in event_files()
        for record in load_event(relative).get("Records", [])
        if isinstance(record, dict) and record.get("eventSource") == "aws:sqs"
    ]


@pytest.mark.parametrize(("relative", "record"), _sqs_records())
def test_sqs_md5_of_body_matches_the_body(relative: str, record: dict[str, Any]) -> None:
    assert record["md5OfBody"] == hashlib.md5(record["body"].encode(), usedforsecurity=False).hexdigest()


@pytest.mark.parametrize(("relative", "record"), _sqs_records())
def test_sqs_record_region_matches_its_queue(relative: str, record: dict[str, Any]) -> None:
    assert record["eventSourceARN"].split(":")[3] == record["awsRegion"]


def test_there_are_failure_samples_for_every_envelope() -> None:
    folders = {relative.split("/")[1] for relative in event_files("failures")}
    assert folders == {
        "destinations",
        "dlq",
        "eventbridge",
        "failure-queue",
        "failure-topic",
        "first-hop",
        "s3",
    }

"""`make invoke`, as a user runs it, for a function of each kind and for each row of events/README.md
that sets variables: a true `sam local invoke` each, its printed response checked against the
event's documented expectation, and what it says the function changed."""

import json
import re
import subprocess
from pathlib import Path

import pytest

from local_invoke.account import STORE_TYPES
from local_invoke.index import SampleEvent, meets, sample_events
from local_invoke.template import SAMPLE, TOOLKIT, load
from tests.processes import alive
from tests.sam_local.conftest import ROOT

STORES = sum(
    resource["Type"] in STORE_TYPES
    for path in (SAMPLE, TOOLKIT)
    for resource in load(path)["Resources"].values()
)

# (function, event, variables) -> the lines of "What it changed" that name a store
CASES: dict[tuple[str, str, str], list[str]] = {
    ("SqsOrdersFunction", "sqs/one_poison.json", ""): [
        "table orders-dev: 2 items written",
        "table orders-idempotency-dev: 2 items written",
    ],
    ("SqsFifoOrdersFunction", "sqs-fifo/failure_mid_batch_two_groups.json", ""): [
        "table orders-dev: 2 items written",
        "table orders-idempotency-dev: 2 items written",
    ],
    (
        "SqsFifoOrdersFunction",
        "sqs-fifo/failure_mid_batch_two_groups.json",
        "FIFO_SKIP_GROUP_ON_ERROR=true",
    ): [
        "table orders-dev: 2 items written",  # ord-1a2b3c at revision 2: its group went on
        "table orders-idempotency-dev: 3 items written",
    ],
    ("KinesisOrdersFunction", "kinesis/failure_in_the_middle.json", ""): [
        "table orders-dev: 1 item written",
        "table orders-idempotency-dev: 2 items written",
    ],
    ("KinesisOrdersFunction", "kinesis/failure_in_the_middle.json", "STREAM_FAIL_FAST=false"): [
        "table orders-dev: 2 items written",  # the records after the failed one applied too
        "table orders-idempotency-dev: 4 items written",
    ],
    ("DynamoDBOrdersFunction", "dynamodb/failure_in_the_middle.json", ""): [
        "table orders-dev: 1 item written",
        "table orders-idempotency-dev: 2 items written",
    ],
    ("OrderEventsFunction", "order-events/poison_eventbridge.json", ""): [
        "queue lambda-failures-dev: 1 message (0 before)",  # its PermanentFailure record
    ],
    ("FailureConsumerFunction", "failures/failure-queue/mixed_batch.json", ""): [
        "table failure-ledger-dev: 4 items written",
        "topic lambda-failure-alerts-dev: 1 message published",  # one alert for the batch
    ],
    ("RedriveFunction", "redrive/redrive-sqs-dlq.json", ""): [
        "queue orders-queue-dlq-dev: 0 messages (3 before)",
        "queue orders-queue-dev: 3 messages (0 before)",
    ],
}


def _documented(function: str, event: str, variables: str) -> SampleEvent:
    [row] = [
        s
        for s in sample_events()
        if (s.function, s.event, " ".join(f"{n}={v}" for n, v in s.variables)) == (function, event, variables)
    ]
    return row


def _between(printed: str, start: str, end: str) -> list[str]:
    lines = printed.splitlines()
    first = lines.index(start) + 1
    return lines[
        first : next(i for i in range(first, len(lines)) if lines[i].startswith(end) or not lines[i])
    ]


@pytest.mark.parametrize(("function", "event", "variables"), list(CASES), ids=lambda part: part or "-")
def test_make_invoke_prints_the_documented_response_and_what_the_function_changed(
    sam_build: Path, function: str, event: str, variables: str
) -> None:
    # Given a sample event and what events/README.md says of it
    documented = _documented(function, event, variables)
    command = ["make", "invoke", f"FUNCTION={function}", f"EVENT=events/{event}"]
    command += [f"VARS={variables}"] if variables else []
    # When a user runs the one command
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    printed = result.stdout
    # Then the response it prints is the documented one, and it says so
    response = json.loads("\n".join(_between(printed, "Response:", "Expected")))
    assert meets(response, documented.expected), (response, documented.expected)
    assert f"Expected (events/README.md): {json.dumps(dict(documented.expected))}: as expected." in printed
    # and it names what the function changed, store by store, and nothing else
    changed = [
        line.strip()
        for line in _between(printed, "What it changed:", "The moto")
        if not line.startswith("    ")
    ]
    assert changed == [
        *CASES[function, event, variables],
        f"Nothing else changed (the other {STORES - len(CASES[function, event, variables])} stores).",
    ]
    # and the variables it was given are the ones the function ran with
    for assignment in variables.split():
        assert f"  {assignment}" in printed.splitlines()
    # and the local account is gone
    server = re.search(r"a moto server at http://127\.0\.0\.1:\d+ \(pid (\d+)\)", printed)
    assert server is not None
    assert not alive(int(server[1]))

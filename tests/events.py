"""The sample events in events/: one set serves the tests, `sam local invoke` and the README."""

import json
from pathlib import Path
from typing import Any

EVENTS_DIR = Path(__file__).resolve().parent.parent / "events"


def load_event(relative: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS_DIR / relative).read_text())
    return event


def event_files(under: str = "") -> list[str]:
    return sorted(str(path.relative_to(EVENTS_DIR)) for path in (EVENTS_DIR / under).rglob("*.json"))


# The sample first-hop DLQs (events/failures/first-hop/): an SNS subscription's DLQ message carries no
# sign of what it is, so a reader is told which queues these are (the toolkit's FirstHopDlqArns).
FIRST_HOP_DLQS = frozenset(
    f"arn:aws:sqs:eu-west-1:123456789012:{name}"
    for name in (
        "order-events-rule-dlq-dev",
        "order-events-subscription-dlq-dev",
        "order-events-subscription-dlq-dev.fifo",
        "order-webhook-subscription-dlq-dev",
    )
)

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

"""events/README.md read as data: for each function (a `## `Name`` section), its sample events,
what each shows, and the response expected (the fields it has, with these values)."""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_invoke.template import ROOT

__all__ = ["EVENTS", "INDEX", "EventIndexError", "SampleEvent", "meets", "sample_events"]

EVENTS = ROOT / "events"
INDEX = EVENTS / "README.md"
_SECTION = re.compile(r"^## `(?P<function>\w+)`")
_ROW = re.compile(
    r"^\| \[`(?P<event>[^`]+)`\]\([^)]*\)(?: with `(?P<variables>[^`]+)`)? "
    r"\| (?P<shows>.+) \| `(?P<expected>\{.*\})` \|$"
)


class EventIndexError(ValueError):
    """A row of events/README.md that does not read as one."""


@dataclass(frozen=True)
class SampleEvent:
    function: str
    event: str
    """Its path under events/."""
    variables: tuple[tuple[str, str], ...]
    """Variables set over the template's for this row (`make invoke ... VARS="NAME=value"`)."""
    shows: str
    expected: Mapping[str, Any]

    @property
    def path(self) -> Path:
        return EVENTS / self.event


def sample_events(index: Path = INDEX) -> list[SampleEvent]:
    found: list[SampleEvent] = []
    function = ""
    for number, line in enumerate(index.read_text().splitlines(), start=1):
        if section := _SECTION.match(line):
            function = section["function"]
            continue
        if not line.startswith("| ["):
            continue
        row = _ROW.match(line)
        if row is None or not function:
            raise EventIndexError(
                f"{index.name}:{number}: not an event row of a function's section: {line[:80]}"
            )
        variables = tuple(assignment.partition("=")[::2] for assignment in (row["variables"] or "").split())
        found.append(
            SampleEvent(
                function=function,
                event=row["event"],
                variables=variables,
                shows=row["shows"].replace("\\|", "|"),
                expected=json.loads(row["expected"]),
            )
        )
    return found


def meets(response: Any, expected: Mapping[str, Any]) -> bool:
    """Whether `response` has every expected field with its value."""
    return isinstance(response, dict) and all(
        name in response and response[name] == value for name, value in expected.items()
    )

"""What a rule is and what it finds: an id, a severity, the resource, why, and the fix (a SAM snippet)."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum

from lambda_failure_toolkit.cli.audit.model import Model

__all__ = ["Check", "Finding", "Rule", "Severity"]


class Severity(IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()


Check = Callable[[Model], Iterable[tuple[str, str]]]
"""A rule's check: (resource, what about it) for each place the rule finds."""


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    what: str
    why: str
    fix: str
    check: Check

    def run(self, model: Model) -> list["Finding"]:
        return [Finding(self, resource, detail) for resource, detail in self.check(model)]


@dataclass(frozen=True)
class Finding:
    rule: Rule
    resource: str
    detail: str

    def as_json(self) -> dict[str, str]:
        return {
            "rule": self.rule.id,
            "severity": self.rule.severity.label,
            "resource": self.resource,
            "detail": self.detail,
            "why": self.rule.why,
            "fix": self.rule.fix,
        }

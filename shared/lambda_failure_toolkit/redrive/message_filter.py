"""Which failures a redrive selects: by kind, condition, error type and message, time, and a JMESPath
predicate on the payload. Every pattern and expression is checked when the request is read."""

import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, Final, Self

import jmespath
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import field_validator, model_validator

from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import as_utc
from lambda_failure_toolkit.redrive.strict import Strict

__all__ = ["MessageFilter"]

_PREDICATE_DEPTH: Final = 64
"""Levels of a payload predicate's syntax tree: evaluation recurses once a level (a few frames each),
and no real predicate nests deeper."""


class MessageFilter(Strict):
    """Which failures to redrive; the others are skipped and stay where they are."""

    conditions: frozenset[str] = frozenset()
    error_types: frozenset[str] = frozenset()
    error_message_pattern: str | None = None
    """A Python regular expression searched in the error message (the redrive bounds each search in
    time: a pattern that backtracks stops the run, saying so)."""
    kinds: frozenset[FailureKind] = frozenset()
    since: datetime | None = None
    """Only failures that occurred (or messages sent) at or after this moment."""
    until: datetime | None = None
    payload_predicate: str | None = None
    """A JMESPath expression evaluated on the payload: the failure is redriven when it is truthy."""

    @field_validator("error_message_pattern")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except (re.error, OverflowError) as exc:  # OverflowError: a repeat count past re's limit
                raise ValueError(f"not a regular expression ({exc})") from exc
            except RecursionError as exc:
                raise ValueError("not a regular expression (nested too deep)") from exc
        return value

    @field_validator("payload_predicate")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parsed = jmespath.compile(value)
            except JMESPathError as exc:
                raise ValueError(f"not a JMESPath expression ({exc})") from exc
            except RecursionError as exc:
                raise ValueError("not a JMESPath expression (nested too deep)") from exc
            # It compiles, but evaluating it would recurse past Python's limit (RecursionError).
            if _depth(dict(parsed.parsed)) > _PREDICATE_DEPTH:
                raise ValueError(
                    f"not a JMESPath expression (nested too deep: at most {_PREDICATE_DEPTH} levels)"
                )
        return value

    _as_utc = field_validator("since", "until")(lambda value: None if value is None else as_utc(value))

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.since and self.until and self.since > self.until:
            raise ValueError("since is after until")
        return self

    @property
    def is_empty(self) -> bool:
        return self == MessageFilter()

    def selects(
        self,
        *,
        kind: FailureKind | None,
        condition: str | None,
        error_type: str | None,
        error_message: str | None,
        occurred_at: datetime | None,
        payload: Callable[[], tuple[bool, Any]],
        search: Callable[[str], bool] | None = None,
    ) -> bool:
        """Whether a failure passes every filter given. `payload` is called only when the predicate
        needs it, and returns (whether there is a payload, the payload). `search` searches the
        error message for `error_message_pattern` (the redrive's is bounded in time); by default `re`."""
        when = occurred_at or datetime.min.replace(tzinfo=UTC)  # unknown: outside any window
        if not (
            (not self.kinds or kind in self.kinds)
            and (not self.conditions or condition in self.conditions)
            and (not self.error_types or error_type in self.error_types)
            and (
                not self.message_regex
                or bool(error_message and (search or self.message_regex.search)(error_message))
            )
            and (not self.since or (occurred_at is not None and when >= self.since))
            and (not self.until or (occurred_at is not None and when <= self.until))
        ):
            return False
        if self.predicate is None:
            return True
        present, value = payload()
        if not present:
            return False
        try:
            return _truthy(self.predicate.search(value))
        except JMESPathError:  # e.g. a function given the wrong type by this payload: not selected
            return False

    @cached_property
    def message_regex(self) -> re.Pattern[str] | None:
        return re.compile(self.error_message_pattern) if self.error_message_pattern else None

    @cached_property
    def predicate(self) -> ParsedResult | None:
        return jmespath.compile(self.payload_predicate) if self.payload_predicate else None


def _depth(tree: dict[str, Any]) -> int:
    """How deep a JMESPath syntax tree nests, found without recursion."""
    deepest, pending = 0, [(tree, 1)]
    while pending:
        node, depth = pending.pop()
        deepest = max(deepest, depth)
        pending.extend((child, depth + 1) for child in node.get("children", ()) if isinstance(child, dict))
    return deepest


def _truthy(value: object) -> bool:
    """JMESPath's truth: false, null, "", [] and {} are false; 0 is true."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and len(value) == 0)

"""JSON as AWS wrote it: values as deep as Python's json decodes them, and a member's exact text.

pydantic's `JsonValue` refuses values nested more than 255 deep, though they are valid JSON and
Python decodes them: a failure record carrying one would be refused, and its event never redriven.
A payload is replayed from its exact text: decoding and encoding again turns `1E2` into `100.0`,
rounds `19.990000000000000001`, keeps one of two duplicated keys, and writes `1e400` as `Infinity`,
which is not JSON.
"""

import json
from typing import Annotated, Final, cast

from pydantic import JsonValue, PlainValidator

__all__ = ["MAX_DEPTH", "DeepJson", "body_payload", "member_text"]

MAX_DEPTH: Final = 512
"""Levels of nesting a JSON value may have: about half of what Python's json decodes and encodes
(its recursion limit), far past any real event."""


def _json_value(value: object) -> JsonValue:
    """`value` when it is a JSON value at most MAX_DEPTH deep, checked without recursion."""
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise ValueError(f"nested more than {MAX_DEPTH} levels deep")
        if isinstance(item, dict):
            if not all(isinstance(key, str) for key in item):
                raise ValueError("an object key is not a string")
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
        elif not (item is None or isinstance(item, str | int | float)):  # bool is an int
            raise ValueError(f"not a JSON value: a {type(item).__name__}")
    return cast("JsonValue", value)  # checked above, node by node


DeepJson = Annotated[JsonValue, PlainValidator(_json_value)]
"""A JSON value as deep as MAX_DEPTH (pydantic's own JsonValue stops at 255 levels)."""


def body_payload(body: str) -> tuple[JsonValue, bool]:
    """The event a DLQ message's body carries: JSON decoded (True), or the text as is when it is not JSON."""
    try:
        decoded: JsonValue = json.loads(body)
    except (ValueError, RecursionError):
        return body, False
    return decoded, True


_SPACE: Final = " \t\n\r"
_DECODER: Final = json.JSONDecoder()


def member_text(document: str, key: str) -> str | None:
    """The exact text of `key`'s value in the JSON object `document` (its last occurrence, the one
    `json.loads` keeps); None when `document` is not an object holding `key`."""
    try:
        return _member_text(document, key)
    except (ValueError, RecursionError):
        return None


def _member_text(document: str, key: str) -> str | None:
    index = _skip(document, 0)
    if document[index : index + 1] != "{":
        return None
    index = _skip(document, index + 1)
    found = None
    if document[index : index + 1] == "}":
        return None
    while document[index : index + 1] == '"':
        name, index = _DECODER.raw_decode(document, index)  # a string: the member's name
        index = _skip(document, index)
        if document[index : index + 1] != ":":
            return None
        start = _skip(document, index + 1)
        _, end = _DECODER.raw_decode(document, start)
        if name == key:
            found = document[start:end]
        index = _skip(document, end)
        if document[index : index + 1] == "}":
            return found
        if document[index : index + 1] != ",":
            return None
        index = _skip(document, index + 1)
    return None


def _skip(document: str, index: int) -> int:
    while index < len(document) and document[index] in _SPACE:
        index += 1
    return index

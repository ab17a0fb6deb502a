"""A payload's fingerprint: its shape (keys and value types, recursively), never its values."""

import base64
import json
from datetime import UTC, datetime
from typing import Any

from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import LedgerEntry
from lambda_failure_toolkit.ledger.groups import NO_PAYLOAD, payload_fingerprint

AT = datetime(2026, 12, 4, 8, tzinfo=UTC)


def fingerprint(
    payload: Any = None, *, records: tuple[dict[str, Any], ...] = (), has_payload: bool = True
) -> str:
    kind = FailureKind.STREAM if records else FailureKind.ASYNC
    return payload_fingerprint(
        LedgerEntry(
            failure_id=f"{kind.value}-{'0' * 32}",
            kind=kind,
            occurred_at=AT,
            recorded_at=AT,
            payload=payload,
            has_payload=has_payload,
            records=records,
        )
    )


def kinesis(data: Any) -> dict[str, Any]:
    return {"kinesis": {"data": base64.b64encode(json.dumps(data).encode()).decode(), "sequenceNumber": "1"}}


def test_other_values_of_the_same_shape_have_the_same_fingerprint() -> None:
    a = fingerprint({"order_id": "o-1", "amount": 5, "lines": [{"sku": "a"}], "paid": True})
    b = fingerprint({"paid": False, "lines": [{"sku": "b"}, {"sku": "c"}], "amount": 7.5, "order_id": "o-2"})
    assert a == b


def test_a_missing_key_or_another_type_is_another_fingerprint() -> None:
    base = fingerprint({"order_id": "o-1", "amount": 5})
    assert fingerprint({"order_id": "o-1"}) != base
    assert fingerprint({"order_id": "o-1", "amount": "5"}) != base
    assert fingerprint({"order_id": "o-1", "amount": None}) != base
    assert fingerprint({"order_id": "o-1", "amount": True}) != base  # a bool is not a number


def test_a_payload_nested_past_any_real_one_is_fingerprinted_without_recursing_to_the_end() -> None:
    deep: Any = "leaf"
    for _ in range(500):  # the ledger keeps 512 levels
        deep = {"a": deep}
    assert len(fingerprint(deep)) == 12


def test_kinesis_records_are_fingerprinted_by_their_decoded_data() -> None:
    same = fingerprint(records=(kinesis({"order_id": "o-1"}),))
    assert fingerprint(records=(kinesis({"order_id": "o-2"}),)) == same
    assert fingerprint(records=(kinesis({"order": {"id": 2}}),)) != same
    not_json = {"kinesis": {"data": base64.b64encode(b"\xff").decode(), "sequenceNumber": "1"}}
    assert len(fingerprint(records=(not_json,))) == 12


def test_an_entry_without_its_event_is_said_so() -> None:
    assert fingerprint(has_payload=False) == NO_PAYLOAD

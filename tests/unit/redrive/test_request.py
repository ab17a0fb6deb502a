"""The redrive request: every bad request is refused whole, with each problem named."""

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.failures import FailureKind
from shared.redrive import (
    DestinationQueueSource,
    LedgerSource,
    MessageFilter,
    RedriveRequest,
    RedriveRequestError,
    RedriveTargets,
    parse_redrive_request,
)

DLQ = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-dev"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dev"
ALLOWED = RedriveTargets(queue_urls=frozenset({QUEUE}), functions=frozenset({"order-events-dev"}))


def refused(raw: Any) -> list[str]:
    with pytest.raises(RedriveRequestError) as raised:
        parse_redrive_request(raw, ALLOWED)
    assert "Nothing was moved" in str(raised.value)
    return raised.value.problems


def test_a_minimal_request_is_a_dry_run() -> None:
    request = parse_redrive_request({"source": {"type": "sqs_dlq", "queue_url": DLQ}}, ALLOWED)
    assert request.dry_run is True
    assert request.concurrency == 1
    assert request.max_messages is None


def test_a_full_request_reads_as_written() -> None:
    request = parse_redrive_request(
        {
            "source": {"type": "destination_queue", "queue_url": DLQ},
            "target": {"function": "arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev"},
            "dry_run": False,
            "max_messages": 500,
            "filter": {
                "conditions": ["RetriesExhausted"],
                "error_types": ["InventoryUnavailableError"],
                "error_message_pattern": "503$",
                "payload_predicate": "detail.total_cents > `1000`",
                "since": "2026-11-20T00:00:00Z",
            },
            "rate_per_second": 50,
            "concurrency": 4,
            "keep_source": True,
            "stop_after_consecutive_failures": 3,
            "requested_by": "arn:aws:sts::123456789012:assumed-role/oncall/alice",
        },
        ALLOWED,
    )
    assert isinstance(request.source, DestinationQueueSource)
    assert request.dry_run is False
    assert request.filter.message_regex is not None
    assert request.filter.message_regex.search("returned 503")
    assert request.filter.predicate is not None
    assert request.filter.predicate.search({"detail": {"total_cents": 4599}}) is True
    assert request.filter.predicate.search({"detail": {"total_cents": 10}}) is False


def test_ledger_sources_by_ids_or_by_filter() -> None:
    by_ids = parse_redrive_request(
        {"source": {"type": "ledger", "failure_ids": ["async-22ac4333001abcfb28f732537f974324"]}}, ALLOWED
    )
    assert isinstance(by_ids.source, LedgerSource)
    by_filter = parse_redrive_request(
        {
            "source": {
                "type": "ledger",
                "filter": {"function_name": "order-events-dev", "conditions": ["RetriesExhausted"]},
            }
        },
        ALLOWED,
    )
    assert isinstance(by_filter.source, LedgerSource)
    assert by_filter.source.filter is not None
    assert refused({"source": {"type": "ledger"}}) == [
        "source.ledger: name the entries by failure_ids or select them by filter (one of the two)"
    ]


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"source": {"type": "sqs_dlq", "queue_url": DLQ}, "dry": False}, "dry: unknown field"),
        ({"source": {"type": "kafka", "queue_url": DLQ}}, "source: unknown source type"),
        ({"source": {"queue_url": DLQ}}, "source.type: required; one of sqs_dlq, lambda_dlq"),
        (
            {"source": {"type": "sqs_dlq", "queue_url": "orders-dlq"}},
            "source.sqs_dlq.queue_url: String should match pattern",
        ),
        ({"source": {"type": "lambda_dlq", "queue_url": DLQ}}, "source.lambda_dlq.function: required"),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "max_messages": 0},
            "max_messages: Input should be greater than or equal to 1",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "rate_per_second": 5000},
            "rate_per_second: Input should be less than or equal to 3000",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "concurrency": 50},
            "concurrency: Input should be less than or equal to 20",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "filter": {"error_message_pattern": "("}},
            "filter.error_message_pattern: not a regular expression",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "filter": {"payload_predicate": "a[?"}},
            "filter.payload_predicate: not a JMESPath expression",
        ),
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"since": "2026-11-21T00:00:00Z", "until": "2026-11-20T00:00:00Z"},
            },
            "filter: since is after until",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "target": {"function": "order-events-dev"}},
            "its target override is a queue_url",
        ),
        (
            {
                "source": {"type": "lambda_dlq", "queue_url": DLQ, "function": "f"},
                "target": {"queue_url": QUEUE},
            },
            "its target override is a function",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "target": {}},
            "target: a target is a queue_url or a function",
        ),
        (
            {
                "source": {"type": "ledger", "failure_ids": ["async-22ac4333001abcfb28f732537f974324"]},
                "keep_source": True,
            },
            "keep_source applies to queue sources",
        ),
        (
            {"source": {"type": "ledger", "failure_ids": ["not-an-id"]}},
            "source.ledger.failure_ids.0: String should match pattern",
        ),
    ],
)
def test_a_bad_request_names_its_problem(raw: dict[str, Any], problem: str) -> None:
    problems = refused(raw)
    assert any(p.startswith(problem) or problem in p for p in problems), problems


def test_every_problem_is_named_at_once() -> None:
    problems = refused(
        {
            "source": {"type": "sqs_dlq", "queue_url": DLQ},
            "max_messages": -1,
            "concurrency": 0,
            "colour": "red",
        }
    )
    assert len(problems) == 3


@pytest.mark.parametrize(
    "target",
    [
        {"queue_url": "https://sqs.eu-west-1.amazonaws.com/123456789012/somewhere-else"},
        {"function": "arn:aws:lambda:eu-west-1:123456789012:function:payments-dev"},
    ],
)
def test_a_target_outside_the_allow_list_is_refused(target: dict[str, str]) -> None:
    source = (
        {"type": "sqs_dlq", "queue_url": DLQ}
        if "queue_url" in target
        else {"type": "lambda_dlq", "queue_url": DLQ, "function": "f"}
    )
    [problem] = refused({"source": source, "target": target})
    assert "is not in the allow-list" in problem


def test_an_empty_allow_list_says_where_to_set_it() -> None:
    with pytest.raises(RedriveRequestError, match="empty: set it at deployment"):
        parse_redrive_request(
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "target": {"queue_url": QUEUE}},
            RedriveTargets(),
        )


@pytest.mark.parametrize("raw", [None, [], "redrive everything", 42])
def test_a_request_that_is_not_an_object_is_refused(raw: object) -> None:
    assert refused(raw) == [f"a redrive request is a JSON object, not {type(raw).__name__}"]


@given(
    st.dictionaries(
        st.text(max_size=20),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=30),
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_hostile_requests_get_a_clear_error_or_a_valid_request(raw: dict[str, Any]) -> None:
    try:
        request = parse_redrive_request(raw, ALLOWED)
    except RedriveRequestError as error:
        problems = error.problems
    else:
        assert isinstance(request, RedriveRequest)
        return
    assert problems
    assert all(isinstance(problem, str) and problem for problem in problems)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "filter": {"error_types": ["ValueError"]}},
            "an SQS DLQ's messages carry no condition, error or kind",
        ),
        (
            {
                "source": {"type": "lambda_dlq", "queue_url": DLQ, "function": "order-events-dev"},
                "filter": {"conditions": ["RetriesExhausted"]},
            },
            "a Lambda DLQ message carries no condition or error type",
        ),
        (
            {"source": {"type": "destination_queue", "queue_url": DLQ}, "fifo_message_group_id": "g"},
            "fifo_message_group_id applies to a redrive into a FIFO queue",
        ),
        (
            {
                "source": {
                    "type": "ledger",
                    "failure_ids": ["async-22ac4333001abcfb28f732537f974324"],
                    "cursor": "x",
                }
            },
            "a cursor goes on with a filter",
        ),
    ],
)
def test_filters_and_options_that_cannot_apply_to_the_source_are_refused(
    raw: dict[str, Any], problem: str
) -> None:
    assert problem in refused(raw)[0]


def facts(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "kind": FailureKind.ASYNC,
        "condition": "RetriesExhausted",
        "error_type": "InventoryUnavailableError",
        "error_message": "inventory service returned 503",
        "occurred_at": datetime(2026, 11, 20, 12, tzinfo=UTC),
        "payload": lambda: (True, {"detail": {"total_cents": 4599, "items": []}}),
    }
    return base | overrides


@pytest.mark.parametrize(
    ("selection", "overrides", "selected"),
    [
        ({}, {}, True),
        ({"kinds": ["stream"]}, {}, False),
        ({"conditions": ["RetriesExhausted"]}, {}, True),
        ({"conditions": ["EventAgeExceeded"]}, {}, False),
        ({"error_types": ["InventoryUnavailableError"]}, {}, True),
        ({"error_types": ["ValueError"]}, {"error_type": None}, False),
        ({"error_message_pattern": "503$"}, {}, True),
        ({"error_message_pattern": "503$"}, {"error_message": None}, False),
        ({"since": "2026-11-20T12:00:00Z"}, {}, True),
        ({"since": "2026-11-20T12:00:01Z"}, {}, False),
        ({"until": "2026-11-20T12:00:00"}, {}, True),  # naive: UTC
        ({"until": "2026-11-20T11:59:59Z"}, {}, False),
        ({"since": "2026-11-01T00:00:00Z"}, {"occurred_at": None}, False),
        ({"payload_predicate": "detail.total_cents > `1000`"}, {}, True),
        ({"payload_predicate": "detail.items"}, {}, False),  # [] is false in JMESPath
        (
            {"payload_predicate": "detail.total_cents"},
            {"payload": lambda: (True, {"detail": {"total_cents": 0}})},
            True,
        ),
        ({"payload_predicate": "detail"}, {"payload": lambda: (False, None)}, False),
        ({"payload_predicate": "length(detail.total_cents)"}, {}, False),  # a type error: not selected
    ],
)
def test_a_filter_selects_a_failure_only_when_every_condition_given_holds(
    selection: dict[str, Any], overrides: dict[str, Any], selected: bool
) -> None:
    assert MessageFilter.model_validate(selection).selects(**facts(**overrides)) is selected


def test_the_payload_is_read_only_when_a_predicate_needs_it() -> None:
    def unread() -> tuple[bool, Any]:
        raise AssertionError("payload read without a predicate")

    assert MessageFilter().selects(**facts(payload=unread)) is True
    assert MessageFilter().is_empty
    assert not MessageFilter(kinds=frozenset({FailureKind.DLQ})).is_empty

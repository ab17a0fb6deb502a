"""The redrive request: every bad request is refused whole, with each problem named."""

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.redrive import (
    DestinationQueueSource,
    LedgerSource,
    MessageFilter,
    RedriveRequest,
    RedriveRequestError,
    RedriveTargets,
    parse_redrive_request,
)
from lambda_failure_toolkit.redrive.request import INVOKE_CONCURRENCY, QUEUE_CONCURRENCY

DLQ = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-dev"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dev"
ALLOWED = RedriveTargets(queues=frozenset({QUEUE}), functions=frozenset({"order-events-dev"}))


def refused(raw: Any) -> list[str]:
    with pytest.raises(RedriveRequestError) as raised:
        parse_redrive_request(raw, ALLOWED)
    assert "Nothing was moved" in str(raised.value)
    return raised.value.problems


def test_a_minimal_request_is_a_dry_run() -> None:
    request = parse_redrive_request({"source": {"type": "sqs_dlq", "queue_url": DLQ}}, ALLOWED)
    assert request.dry_run is True
    assert request.concurrency is None
    assert request.max_messages is None


@pytest.mark.parametrize(
    ("source", "workers"),
    [
        ({"type": "sqs_dlq", "queue_url": DLQ}, QUEUE_CONCURRENCY),  # a move between queues
        ({"type": "lambda_dlq", "queue_url": DLQ, "function": "order-events-dev"}, INVOKE_CONCURRENCY),
        ({"type": "destination_queue", "queue_url": DLQ}, INVOKE_CONCURRENCY),
        ({"type": "ledger", "failure_ids": ["async-" + "0" * 32]}, INVOKE_CONCURRENCY),
    ],
)
def test_the_default_workers_depend_on_what_the_run_calls(source: dict[str, Any], workers: int) -> None:
    assert parse_redrive_request({"source": source}, ALLOWED).workers == workers
    assert parse_redrive_request({"source": source, "concurrency": 3}, ALLOWED).workers == 3


def test_concurrency_null_is_refused_naming_what_to_give() -> None:
    problems = refused({"source": {"type": "sqs_dlq", "queue_url": DLQ}, "concurrency": None})
    assert any("concurrency" in problem and "leave it out for the default" in problem for problem in problems)


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


# As the toolkit's template sets it: the ARNs of its RedriveTarget*Arns parameters.
BY_ARN = RedriveTargets(
    queues=frozenset({"arn:aws:sqs:eu-west-1:123456789012:orders-queue-dev"}),
    functions=frozenset({"arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev"}),
)


@pytest.mark.parametrize(
    ("queue", "allowed"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dev", True),
        ("https://eu-west-1.queue.amazonaws.com/123456789012/orders-queue-dev/", True),
        ("http://127.0.0.1:4566/123456789012/orders-queue-dev", True),
        ("arn:aws:sqs:eu-west-1:123456789012:orders-queue-dev", True),
        ("https://sqs.eu-west-1.amazonaws.com/999999999999/orders-queue-dev", False),
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dev-dlq", False),
    ],
)
def test_an_allow_list_of_queue_arns_knows_every_url_of_its_queues(queue: str, allowed: bool) -> None:
    assert BY_ARN.allows_queue(queue) is allowed


@pytest.mark.parametrize(
    ("function", "allowed"),
    [
        ("order-events-dev", True),
        ("order-events-dev:live", True),
        ("arn:aws:lambda:eu-west-1:123456789012:function:order-events-dev:$LATEST", True),
        ("123456789012:function:order-events-dev", True),
        # Another account's function of the same name: a forged record cannot name it
        ("arn:aws:lambda:eu-west-1:999999999999:function:order-events-dev", False),
        ("999999999999:function:order-events-dev", False),
        ("payments-dev", False),
    ],
)
def test_an_allow_list_of_function_arns_compares_the_account_when_both_name_one(
    function: str, allowed: bool
) -> None:
    assert BY_ARN.allows_function(function) is allowed


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


# ---------------------------------------------------------------- hostile values, near a valid request


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        # Each of these raised OverflowError or RecursionError out of the parser (the function crashed).
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"error_message_pattern": "a{4294967296}"},
            },
            "filter.error_message_pattern: not a regular expression (the repetition number is too large)",
        ),
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"error_message_pattern": "(" * 5000 + ")" * 5000},
            },
            "filter.error_message_pattern: not a regular expression (nested too deep)",
        ),
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"payload_predicate": "!" * 5000 + "a"},
            },
            "filter.payload_predicate: not a JMESPath expression (nested too deep)",
        ),
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"since": "9999-12-31T23:00:00-05:00"},
            },
            "filter.since: out of range once converted to UTC",
        ),
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"until": "0001-01-01T00:00:00+05:00"},
            },
            "filter.until: out of range once converted to UTC",
        ),
        (
            {"source": {"type": "ledger", "filter": {"until": "0001-01-01T00:00:00+05:00"}}},
            "source.ledger.filter.until: out of range once converted to UTC",
        ),
        # The ledger walked every day back to year 1 (or overflowed the calendar doing so).
        (
            {"source": {"type": "ledger", "filter": {"until": "0001-01-02T00:00:00Z"}}},
            "source.ledger.filter: until is before AWS Lambda's launch (2014-11-13)",
        ),
        (
            {"source": {"type": "ledger", "filter": {"since": "1900-01-01T00:00:00Z"}}},
            "source.ledger.filter: since is before AWS Lambda's launch (2014-11-13)",
        ),
        # Compiled, then crashed the run at evaluation with RecursionError (issue 15, finding 7).
        (
            {
                "source": {"type": "sqs_dlq", "queue_url": DLQ},
                "filter": {"payload_predicate": " || ".join(["a"] * 500)},
            },
            "filter.payload_predicate: not a JMESPath expression (nested too deep",
        ),
        # The ledger walked millions of empty days (issue 15, finding 5).
        (
            {"source": {"type": "ledger", "filter": {"until": "9999-12-31T00:00:00Z"}}},
            "source.ledger.filter: until is in the future",
        ),
        (
            {"source": {"type": "ledger", "filter": {"since": "2999-01-01T00:00:00Z"}}},
            "source.ledger.filter: since is in the future",
        ),
        # pydantic took "false", "no" and 0 for false: a real run nobody asked for with JSON's false.
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "dry_run": "false"},
            "dry_run: Input should be a valid boolean",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "dry_run": 0},
            "dry_run: Input should be a valid boolean",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "dry_run": None},
            "dry_run: Input should be a valid boolean",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "keep_source": "yes"},
            "keep_source: Input should be a valid boolean",
        ),
        # pydantic took true for 1 and "100" for 100.
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "max_messages": True},
            "max_messages: Input should be a valid integer",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "concurrency": "4"},
            "concurrency: Input should be a valid integer",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "rate_per_second": "10"},
            "rate_per_second: Input should be a valid number",
        ),
        (
            {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "stop_after_consecutive_failures": 2.0},
            "stop_after_consecutive_failures: Input should be a valid integer",
        ),
    ],
)
def test_a_value_out_of_range_too_deep_or_of_a_loose_type_is_refused_by_name(
    raw: dict[str, Any], problem: str
) -> None:
    problems = refused(raw)
    assert any(p.startswith(problem) for p in problems), problems


VALID_REQUESTS: list[dict[str, Any]] = [
    {"source": {"type": "sqs_dlq", "queue_url": DLQ}, "target": {"queue_url": QUEUE}, "dry_run": False},
    {
        "source": {"type": "lambda_dlq", "queue_url": DLQ, "function": "order-events-dev"},
        "filter": {"error_message_pattern": "503$", "since": "2026-11-20T00:00:00Z"},
        "max_messages": 10,
    },
    {
        "source": {"type": "destination_queue", "queue_url": DLQ},
        "filter": {"conditions": ["RetriesExhausted"], "payload_predicate": "detail.total_cents > `0`"},
        "concurrency": 4,
        "rate_per_second": 50,
    },
    {
        "source": {
            "type": "ledger",
            "filter": {"function_name": "order-events-dev", "since": "2026-11-01T00:00:00Z"},
        },
        "stop_after_consecutive_failures": 3,
        "requested_by": "oncall@example.com",
    },
    {"source": {"type": "ledger", "failure_ids": ["async-22ac4333001abcfb28f732537f974324"]}},
]

_letters = st.text(st.characters(categories=["L"]), min_size=1, max_size=20)
_not_a_number = (
    _letters | st.lists(st.integers(), max_size=2) | st.dictionaries(_letters, st.integers(), max_size=2)
)
_huge = st.integers(200_000, 400_000).map(lambda size: "x" * size)
# For each field: values no request may hold there (so the request must be refused, naming the field).
BAD_VALUES: dict[tuple[str, ...], st.SearchStrategy[Any]] = {
    ("dry_run",): st.none() | st.integers() | st.text(max_size=8) | st.lists(st.booleans(), max_size=2),
    ("keep_source",): st.none() | st.integers() | st.text(max_size=8),
    ("max_messages",): st.integers(max_value=0) | st.integers(min_value=1_000_001) | _not_a_number,
    ("concurrency",): st.none() | st.integers(max_value=0) | st.integers(min_value=21) | _not_a_number,
    ("rate_per_second",): st.integers(max_value=0)
    | st.floats(min_value=3000.5, allow_infinity=False)
    | _not_a_number,
    ("stop_after_consecutive_failures",): st.none()
    | st.integers(max_value=0)
    | st.integers(min_value=10_001),
    ("fifo_message_group_id",): st.just("") | st.integers() | st.text(min_size=129, max_size=300),
    ("requested_by",): st.integers() | st.text(min_size=513, max_size=600) | _huge,
    ("source", "queue_url"): st.none() | st.integers() | _letters | _huge,
    ("source", "type"): st.none()
    | st.integers()
    | _letters.filter(lambda t: t not in {"sqs_dlq", "lambda_dlq", "destination_queue", "ledger"}),
    ("filter", "error_message_pattern"): st.sampled_from(
        ["(", "*a", "a{4294967296}", "(" * 3000 + ")" * 3000, "\\", "(?P<1>a)", "a{2,1}"]
    )
    | st.integers(),
    ("filter", "payload_predicate"): st.sampled_from(["a[?", "foo.", "!" * 3000 + "a", "&&", "[" * 3000])
    | st.integers(),
    ("filter", "since"): st.sampled_from(
        ["yesterday", "2026-13-01T00:00:00Z", "9999-12-31T23:00:00-05:00", ""]
    )
    | st.lists(st.integers(), max_size=2),
    ("filter", "until"): st.sampled_from(["tomorrow", "2026-02-30T00:00:00Z", "0001-01-01T00:00:00+05:00"]),
    ("filter", "kinds"): st.lists(
        _letters.filter(lambda t: t not in {"async", "stream", "dlq"}), min_size=1, max_size=2
    ),
    ("filter", "conditions"): _letters | st.integers(),
    ("target",): st.just({})
    | st.fixed_dictionaries({"queue_url": _letters})
    | st.fixed_dictionaries({"queue_url": st.just(QUEUE), "function": st.just("order-events-dev")}),
}


def _with(request: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    changed = json.loads(json.dumps(request))
    parent = changed
    for key in path[:-1]:
        parent = parent.setdefault(key, {})
    if value is _DROP:
        parent.pop(path[-1], None)
    else:
        parent[path[-1]] = value
    return changed


_DROP = object()


@pytest.mark.filterwarnings("ignore::FutureWarning")  # re warns of possible nested sets in some patterns
@given(st.data())
def test_a_valid_request_with_one_hostile_value_is_refused_naming_where(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(VALID_REQUESTS))
    path = data.draw(st.sampled_from(sorted(BAD_VALUES)))
    raw = _with(base, path, data.draw(BAD_VALUES[path]))
    problems = refused(raw)
    assert all(isinstance(problem, str) and problem for problem in problems)
    assert any(problem.startswith(path[0]) for problem in problems), (path, problems)


@given(st.data())
def test_an_unknown_key_or_a_missing_required_one_anywhere_is_named(data: st.DataObject) -> None:
    base = data.draw(st.sampled_from(VALID_REQUESTS))
    if data.draw(st.booleans()):
        where = data.draw(
            st.sampled_from([(), ("source",), *((key,) for key in ("filter", "target") if key in base)])
        )
        key = "x-" + data.draw(st.text(max_size=10))
        raw = _with(base, (*where, key), data.draw(st.none() | st.integers() | st.text(max_size=5)))
        expected = f"{where[0]}." if where else f"{key}: unknown field"
    else:
        required = [("source",), ("source", "type")] + (
            [("source", "queue_url")] if "queue_url" in base["source"] else []
        )
        where = data.draw(st.sampled_from(required))
        raw = _with(base, where, _DROP)
        expected = where[0]
    problems = refused(raw)
    assert any(problem.startswith(expected) for problem in problems), (expected, problems)


json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_anything = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


# re and jmespath warn of syntax they may change (nested sets, JSON literals): warnings, not errors
@pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::PendingDeprecationWarning")
@given(st.data())
def test_any_json_value_anywhere_in_a_valid_request_gives_a_request_or_a_clear_refusal(
    data: st.DataObject,
) -> None:
    base = data.draw(st.sampled_from(VALID_REQUESTS))
    paths = (
        [(key,) for key in RedriveRequest.model_fields]
        + [("source", key) for key in ("type", "queue_url", "function", "failure_ids", "filter", "cursor")]
        + [("filter", key) for key in MessageFilter.model_fields]
        + [("source", "filter", "since"), ("source", "filter", "until")]
    )
    path = data.draw(st.sampled_from(paths))
    raw = _with(base, path, data.draw(json_anything))
    try:
        request = parse_redrive_request(raw, ALLOWED)
    except RedriveRequestError as error:
        problems = error.problems
    else:
        assert isinstance(request, RedriveRequest)
        return
    assert problems
    assert all(isinstance(problem, str) and problem for problem in problems)

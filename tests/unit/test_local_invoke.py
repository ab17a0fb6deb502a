"""`make invoke` without Docker: the events index against the tests' table, the templates' values,
and every bad argument refused in one line."""

import io
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from local_invoke.__main__ import main
from local_invoke.functions import declared_variables, environment, find, functions
from local_invoke.index import EventIndexError, meets, sample_events
from local_invoke.template import SAMPLE, TOOLKIT, Stack, Store, TemplateError
from tests.events import event_files
from tests.function_events import ASYNC_CASES, BATCH_CASES, REDRIVE_CASES, AsyncCase, BatchCase, RedriveCase

Row = tuple[str, str, tuple[tuple[str, str], ...], str]


def _documented(case: BatchCase | AsyncCase | RedriveCase) -> dict[str, Any]:
    """The response fields events/README.md must give for a case of tests/function_events.py."""
    match case:
        case BatchCase():
            return case.expected()
        case AsyncCase(status=None):
            return {"errorType": case.error_type}
        case AsyncCase(status="rejected"):
            return {"status": "rejected", "errorType": case.error_type}
        case AsyncCase():
            return {"status": case.status}
        case RedriveCase():
            return {"status": case.status, **dict(case.counts)}


def _row(
    function: str, event: str, variables: tuple[tuple[str, str], ...], expected: Mapping[str, Any]
) -> Row:
    return function, event, variables, json.dumps(expected, sort_keys=True)


def test_the_events_index_expects_what_the_tests_expect_of_every_sample_event() -> None:
    # Given the tests' table of expected responses, and events/README.md
    tested = [_row(c.function, c.event, getattr(c, "env", ()), _documented(c)) for c in BATCH_CASES]
    tested += [_row(c.function, c.event, (), _documented(c)) for c in [*ASYNC_CASES, *REDRIVE_CASES]]
    documented = [_row(s.function, s.event, s.variables, s.expected) for s in sample_events()]
    # Then they hold the same cases, once each, with the same expectations
    assert len(documented) == len(set(documented))
    assert sorted(documented) == sorted(tested)


def test_the_index_has_a_section_for_every_function_and_a_row_for_every_function_event() -> None:
    samples = sample_events()
    assert {s.function for s in samples} == {f.logical_id for f in functions()}
    # events/failures/ holds AWS's failure records: the failure queue's are the consumer's events.
    assert {s.event for s in samples} == {f for f in event_files() if not f.startswith("failures/")} | set(
        event_files("failures/failure-queue")
    )
    for sample in samples:
        declared = declared_variables(find(sample.function))
        assert {name for name, _ in sample.variables} <= set(declared), sample


def test_a_row_that_does_not_read_is_refused_with_its_line(tmp_path: Path) -> None:
    index = tmp_path / "README.md"
    index.write_text(
        "## `SqsOrdersFunction`: x\n\n| [`sqs/all_good.json`](sqs/all_good.json) | no expectation |\n"
    )
    with pytest.raises(EventIndexError, match=r"README.md:3: "):
        sample_events(index)


@pytest.mark.parametrize(
    ("response", "met"),
    [
        ({"status": "rejected", "errorType": "ValidationError", "errorMessage": "x"}, True),
        ({"status": "rejected", "errorType": "OrderRuleViolationError"}, False),
        ({"status": "rejected"}, False),
        (["status", "rejected"], False),
    ],
)
def test_a_response_meets_its_expectation_when_it_has_every_field_with_its_value(
    response: Any, met: bool
) -> None:
    assert meets(response, {"status": "rejected", "errorType": "ValidationError"}) is met


def _stores_by_name(stack: Stack, logical_id: str, resource: Mapping[str, Any]) -> Store:
    """Stands for the account: a store named as the template names it, at made-up addresses."""
    properties = resource.get("Properties", {})
    name_property = {"AWS::SQS::Queue": "QueueName", "AWS::DynamoDB::Table": "TableName"}.get(
        resource["Type"]
    )
    name = str(stack.resolve(properties[name_property])) if name_property else logical_id.lower()
    arn = f"arn:aws:local:{name}"
    return Store(logical_id, "store", name, f"ref:{name}", {"Arn": arn, "StreamArn": f"{arn}/stream/1"})


def test_each_function_gets_the_templates_values_with_the_local_endpoint() -> None:
    # Given the sample's stack and its nested toolkit, with the endpoint as the demo passes it
    sample = Stack(
        SAMPLE, "orders-local", _stores_by_name, parameters={"AwsEndpointUrl": lambda: "http://127.0.0.1:9"}
    )
    sample.add_nested("Toolkit", TOOLKIT)
    # When each function's environment is computed
    variables = {function.logical_id: environment(function, sample) for function in functions()}
    # Then every function talks to the local endpoint, and each value is the template's
    assert {values["AWS_ENDPOINT_URL"] for values in variables.values()} == {"http://127.0.0.1:9"}
    assert variables["SqsOrdersFunction"]["ORDERS_TABLE_NAME"] == "ref:orders-dev"
    assert variables["SqsFifoOrdersFunction"]["FIFO_SKIP_GROUP_ON_ERROR"] == "false"
    assert (
        variables["OrderEventsFunction"]["FAILURE_QUEUE_URL"] == "ref:lambda-failures-dev"
    )  # the toolkit's output
    assert (
        variables["FailureConsumerFunction"]["LEDGER_TABLE_NAME"] == "ref:failure-ledger-dev"
    )  # its Globals
    # The allow-lists: the toolkit's failure queue and what the sample passes it, as the deployed stack has them
    redrive = variables["RedriveFunction"]
    assert redrive["REDRIVE_ALLOWED_QUEUES"].split(",") == [
        "arn:aws:local:lambda-failures-dev",
        "arn:aws:local:orders-queue-dev",
        "arn:aws:local:orders-fifo-dev.fifo",
        # the first-hop DLQs, written out as ARNs in the template (their names come from the stage)
        "arn:aws:sqs:us-east-1:123456789012:order-events-rule-dlq-dev",
        "arn:aws:sqs:us-east-1:123456789012:order-events-subscription-dlq-dev",
    ]
    assert redrive["REDRIVE_ALLOWED_FUNCTIONS"].split(",") == [
        f"arn:aws:lambda:us-east-1:123456789012:function:{name}-dev"
        for name in ("order-events", "kinesis-orders", "dynamodb-orders")
    ]


def test_what_cannot_be_computed_locally_is_refused_by_name() -> None:
    sample = Stack(SAMPLE, "orders-local", _stores_by_name)
    with pytest.raises(TemplateError, match="Fn::If"):
        sample.resolve({"Fn::If": ["UseCustomerKey", "a", "b"]})
    with pytest.raises(TemplateError, match="no resource Nowhere"):
        sample.resolve({"Fn::GetAtt": ["Nowhere", "Arn"]})
    # CloudFormation's Join keeps an empty list parameter's one empty member
    assert sample.resolve({"Fn::Join": [",", ["a", {"Ref": "VpcSubnetIds"}]]}) == "a,"


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), out, err)
    return status, out.getvalue(), err.getvalue()


def test_alone_it_lists_every_function_with_its_sample_events() -> None:
    status, out, err = _run()
    assert (status, err) == (0, "")
    for sample in sample_events():
        assert f"events/{sample.event}" in out
    assert 'events/sqs-fifo/failure_mid_batch_two_groups.json VARS="FIFO_SKIP_GROUP_ON_ERROR=true"' in out
    assert [line for line in out.splitlines() if line and not line.startswith(" ")][1:] == [
        f.logical_id + (f"  (in {f.nested_in})" if f.nested_in else "") for f in functions()
    ]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (("Nope", "events/sqs/one_poison.json"), "no function 'Nope' in template.yaml"),
        (("SqsOrdersFunction", "events/sqs/missing.json"), "no event file events/sqs/missing.json"),
        (("SqsOrdersFunction", "README.md"), "EVENT README.md is not JSON"),
        (("SqsOrdersFunction", ""), "give EVENT too"),
        (("", "events/sqs/one_poison.json"), "give FUNCTION too"),
        (("", "", "--set", "FIFO_SKIP_GROUP_ON_ERROR=true"), "give FUNCTION and EVENT too"),
        (("SqsOrdersFunction", "sqs/one_poison.json", "--set", "FOO=1"), "declares no variable FOO"),
        (("SqsOrdersFunction", "sqs/one_poison.json", "--set", "ORDERS_TABLE_NAME"), "NAME=VALUE"),
        (("SqsOrdersFunction", "sqs/one_poison.json", "--bogus"), "unrecognized arguments: --bogus"),
    ],
)
def test_a_bad_argument_is_one_line_and_exit_2(argv: tuple[str, ...], says: str) -> None:
    status, out, err = _run(*argv)
    assert (status, out) == (2, "")
    assert err.count("\n") == 1
    assert err.startswith("make invoke: ")
    assert says in err


@pytest.mark.parametrize("name", ["RedriveFunction", "Toolkit/RedriveFunction"])
def test_check_accepts_a_toolkit_function_by_either_name_and_an_event_under_events(name: str) -> None:
    assert _run(name, "redrive/dry-run-sqs-dlq.json", "--check") == (0, "", "")
    assert find(name).full_name == "Toolkit/RedriveFunction"

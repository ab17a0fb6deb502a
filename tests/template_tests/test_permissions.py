"""Least privilege, proven: each function's role and resource-based policy, derived from the template
after the SAM transform, are exactly what docs/permissions.md lists and explains."""

import functools
import json
from typing import Any

import pytest

from tests.permissions import (
    PERMISSIONS_DOC,
    ROOT,
    Grant,
    Invoker,
    difference,
    documented,
    expected,
    functions,
    invokers,
    role_grants,
    transform,
)

# Actions AWS lets no policy scope to a resource: the only ones allowed on "*".
NOT_SCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
}
SERVICE_PRINCIPALS_NEEDING_SOURCE_ACCOUNT = {"s3.amazonaws.com"}


@functools.cache
def _transformed() -> str:
    return json.dumps(transform(ROOT / "template.yaml"))


@pytest.fixture
def transformed() -> dict[str, Any]:
    """A fresh copy each time, so a test may change it."""
    loaded: dict[str, Any] = json.loads(_transformed())
    return loaded


@pytest.fixture(scope="module")
def doc() -> dict[str, tuple[set[Grant], set[Invoker]]]:
    return documented(PERMISSIONS_DOC.read_text())


def _compare(
    transformed: dict[str, Any], doc: dict[str, tuple[set[Grant], set[Invoker]]], function: str
) -> str:
    grants, invoked_by = expected(doc, function)
    return "\n".join(
        part
        for part in (
            difference(role_grants(transformed, function), grants),
            difference(invokers(transformed, function), invoked_by),
        )
        if part
    )


def test_every_function_and_only_functions_are_documented(
    transformed: dict[str, Any], doc: dict[str, tuple[set[Grant], set[Invoker]]]
) -> None:
    documented_functions = {
        name for name, (grants, invoked_by) in doc.items() if name != "common" and (grants or invoked_by)
    }
    assert documented_functions == set(functions(transformed))
    assert len(functions(transformed)) == 7


FUNCTIONS = sorted(
    [
        "OrderEventsFunction",
        "SqsOrdersFunction",
        "SqsFifoOrdersFunction",
        "KinesisOrdersFunction",
        "DynamoDBOrdersFunction",
        "FailureConsumerFunction",
        "RedriveFunction",
    ]
)


def test_the_functions_checked_are_the_templates(transformed: dict[str, Any]) -> None:
    assert functions(transformed) == FUNCTIONS


@pytest.mark.parametrize("function", FUNCTIONS)
def test_role_and_resource_policy_are_exactly_the_documented_ones(
    transformed: dict[str, Any], doc: dict[str, tuple[set[Grant], set[Invoker]]], function: str
) -> None:
    assert _compare(transformed, doc, function) == ""


def _statements(transformed: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements of the role's unconditional policy (its first)."""
    policy = transformed["Resources"][role]["Properties"]["Policies"][0]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_an_extra_action_on_a_role_is_caught(
    transformed: dict[str, Any], doc: dict[str, tuple[set[Grant], set[Invoker]]]
) -> None:
    # Given the doc agrees with the template, when one action is added to one of the consumer's statements
    assert _compare(transformed, doc, "FailureConsumerFunction") == ""
    ledger = next(
        s
        for s in _statements(transformed, "FailureConsumerFunctionRole")
        if s.get("Sid") == "LedgerWriteOnce"
    )
    ledger["Action"].append("dynamodb:DeleteItem")
    # Then the comparison names it, on the resource it was granted on
    assert _compare(transformed, doc, "FailureConsumerFunction") == (
        "  in the template, not in docs/permissions.md: "
        "Grant(action='dynamodb:DeleteItem', resource='LedgerTable', when='always')"
    )


def test_an_extra_statement_a_managed_policy_or_a_separate_policy_is_caught(
    transformed: dict[str, Any], doc: dict[str, tuple[set[Grant], set[Invoker]]]
) -> None:
    resources = transformed["Resources"]
    _statements(transformed, "SqsOrdersFunctionRole").append(
        {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": {"Fn::GetAtt": ["FailureQueue", "Arn"]}}
    )
    resources["KinesisOrdersFunctionRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole"
    ]
    resources["Sneaky"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "sneaky",
            "Roles": [{"Ref": "RedriveFunctionRole"}],
            "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]
            },
        },
    }
    assert "Grant(action='sqs:SendMessage', resource='FailureQueue', when='always')" in _compare(
        transformed, doc, "SqsOrdersFunction"
    )
    assert (
        "Grant(action='managed-policy', resource='arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole'"
        in (_compare(transformed, doc, "KinesisOrdersFunction"))
    )
    assert "Grant(action='sqs:SendMessage', resource='*', when='always')" in _compare(
        transformed, doc, "RedriveFunction"
    )


@pytest.mark.parametrize(
    "function_name",
    [
        {"Ref": "RedriveFunction"},
        {"Fn::GetAtt": ["RedriveFunction", "Arn"]},
        {"Fn::Sub": "${RedriveFunction.Arn}:live"},
    ],
)
def test_a_new_invoker_is_caught_however_it_names_the_function(
    transformed: dict[str, Any], doc: dict[str, tuple[set[Grant], set[Invoker]]], function_name: Any
) -> None:
    transformed["Resources"]["RedriveFromAnywhere"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": function_name,
            "Principal": "events.amazonaws.com",
        },
    }
    assert _compare(transformed, doc, "RedriveFunction") == (
        "  in the template, not in docs/permissions.md: Invoker(principal='events.amazonaws.com', "
        "action='lambda:InvokeFunction', source_arn='-', source_account='-')"
    )
    assert _compare(transformed, doc, "OrderEventsFunction") == ""  # the others are unchanged


def test_every_function_has_a_role_of_its_own(transformed: dict[str, Any]) -> None:
    resources = transformed["Resources"]
    roles = [resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in functions(transformed)]
    assert len(set(roles)) == len(roles) == 7
    for role in roles:
        properties = resources[role]["Properties"]
        assert properties["AssumeRolePolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
        assert "RoleName" not in properties  # CAPABILITY_IAM suffices; stages do not collide


def test_no_wildcard_action_and_no_star_resource_but_for_unscopable_actions(
    transformed: dict[str, Any],
) -> None:
    for function in functions(transformed):
        for grant in role_grants(transformed, function):
            assert "*" not in grant.action, (function, grant)
            if grant.resource == "*":
                assert grant.action in NOT_SCOPABLE, (function, grant)


def test_every_service_invoker_is_scoped_to_its_source(transformed: dict[str, Any]) -> None:
    permissions = [
        body["Properties"]
        for body in transformed["Resources"].values()
        if body["Type"] == "AWS::Lambda::Permission"
    ]
    assert permissions  # the SNS subscription and the EventBridge rule
    for permission in permissions:
        # Only AWS services are let in through a resource policy (no account, no "*"), each scoped.
        assert str(permission["Principal"]).endswith(".amazonaws.com"), permission
        assert "SourceArn" in permission, permission
        if permission["Principal"] in SERVICE_PRINCIPALS_NEEDING_SOURCE_ACCOUNT:
            assert "SourceAccount" in permission, permission


def test_the_redrive_has_no_resource_policy_and_its_role_reaches_exactly_its_allow_list(
    transformed: dict[str, Any],
) -> None:
    assert invokers(transformed, "RedriveFunction") == set()
    variables = transformed["Resources"]["RedriveFunction"]["Properties"]["Environment"]["Variables"]
    allowed_queues = {ref["Ref"] for ref in variables["REDRIVE_ALLOWED_QUEUE_URLS"]["Fn::Join"][1]}
    allowed_functions = {ref["Ref"] for ref in variables["REDRIVE_ALLOWED_FUNCTIONS"]["Fn::Join"][1]}
    grants = role_grants(transformed, "RedriveFunction")
    assert {grant.resource for grant in grants if grant.action == "sqs:SendMessage"} == allowed_queues
    assert {
        grant.resource.removesuffix(":*") for grant in grants if grant.action == "lambda:InvokeFunction"
    } == (allowed_functions)


def test_vpc_permissions_come_only_with_the_vpc(transformed: dict[str, Any]) -> None:
    for function in functions(transformed):
        network = {grant for grant in role_grants(transformed, function) if grant.action.startswith("ec2:")}
        assert network, function
        assert {grant.when for grant in network} == {"AttachToVpc"}, function
        assert transformed["Resources"][function]["Properties"]["VpcConfig"]["Fn::If"][0] == "AttachToVpc"

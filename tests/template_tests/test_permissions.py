"""Least privilege, proven: each function's role and resource-based policy, derived from its template
after the SAM transform, are exactly what docs/permissions.md lists and explains; for the toolkit,
also with none, one and three ARNs in each list parameter, as CloudFormation would deploy it."""

import copy
import functools
import json
from pathlib import Path
from typing import Any

import pytest

from tests.permissions import (
    ALWAYS,
    PERMISSIONS_DOC,
    SAMPLE_TEMPLATE,
    TOOLKIT_TEMPLATE,
    Grant,
    Invoker,
    difference,
    documented,
    expand,
    expected,
    functions,
    invokers,
    role_grants,
    transform,
)
from tests.template import render_template

# Actions AWS lets no policy scope to a resource: the only ones allowed on "*".
NOT_SCOPABLE = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
}
SERVICE_PRINCIPALS_NEEDING_SOURCE_ACCOUNT = {"s3.amazonaws.com"}
SAMPLE_FUNCTIONS = [
    "DynamoDBOrdersFunction",
    "KinesisOrdersFunction",
    "OrderEventsFunction",
    "SqsFifoOrdersFunction",
    "SqsOrdersFunction",
]
TOOLKIT_FUNCTIONS = ["FailureConsumerFunction", "RedriveFunction"]
TEMPLATE_OF = dict.fromkeys(SAMPLE_FUNCTIONS, SAMPLE_TEMPLATE) | dict.fromkeys(
    TOOLKIT_FUNCTIONS, TOOLKIT_TEMPLATE
)
# What each list parameter of the toolkit names, to render it with 0, 1 or 3 of them.
LIST_PARAMETERS = {
    "WatchedDlqArns": "arn:aws:sqs:eu-west-1:123456789012:app-dlq-{n}",
    "KinesisStreamArns": "arn:aws:kinesis:eu-west-1:123456789012:stream/app-{n}",
    "DynamoDBStreamArns": "arn:aws:dynamodb:eu-west-1:123456789012:table/app-{n}/stream/*",
    "RedriveTargetQueueArns": "arn:aws:sqs:eu-west-1:123456789012:app-queue-{n}",
    "RedriveTargetFunctionArns": "arn:aws:lambda:eu-west-1:123456789012:function:app-{n}",
    "FailureSourceTopicArns": "arn:aws:sns:eu-west-1:123456789012:app-failures-{n}",
    "FailureSourceQueueArns": "arn:aws:sqs:eu-west-1:123456789012:app-failures-{n}",
    "FirstHopDlqArns": "arn:aws:sqs:eu-west-1:123456789012:app-first-hop-dlq-{n}",
}
# How many lists name each function's resources: the consumer's source queues, first-hop DLQs and two
# kinds of streams; the redrive's DLQs, queues and functions.
LISTS_GRANTED = {"FailureConsumerFunction": 4, "RedriveFunction": 3}


@functools.cache
def _transformed(path: Path) -> str:
    return json.dumps(transform(path))


def _fresh(path: Path) -> dict[str, Any]:
    """A fresh copy each time, so a test may change it."""
    loaded: dict[str, Any] = json.loads(_transformed(path))
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
    doc: dict[str, tuple[set[Grant], set[Invoker]]],
) -> None:
    documented_functions = {
        name for name, (grants, invoked_by) in doc.items() if name != "common" and (grants or invoked_by)
    }
    assert functions(_fresh(SAMPLE_TEMPLATE)) == SAMPLE_FUNCTIONS
    assert functions(_fresh(TOOLKIT_TEMPLATE)) == TOOLKIT_FUNCTIONS
    assert documented_functions == set(SAMPLE_FUNCTIONS) | set(TOOLKIT_FUNCTIONS)


@pytest.mark.parametrize("function", sorted(TEMPLATE_OF))
def test_role_and_resource_policy_are_exactly_the_documented_ones(
    doc: dict[str, tuple[set[Grant], set[Invoker]]], function: str
) -> None:
    assert _compare(_fresh(TEMPLATE_OF[function]), doc, function) == ""


# ---------------------------------------------------------------- every parameter shape, concretely


def _values(count: int) -> dict[str, list[str]]:
    return {
        name: [pattern.format(n=n) for n in range(1, count + 1)] for name, pattern in LIST_PARAMETERS.items()
    }


def _render(count: int, **overrides: str) -> tuple[dict[str, Any], render_template.Renderer]:
    values = {name: ",".join(arns) for name, arns in _values(count).items()} | overrides
    renderer = render_template.Renderer(_fresh(TOOLKIT_TEMPLATE), values, resolve_parameters=True)
    return renderer.rendered(), renderer


def _concrete_difference(
    rendered: dict[str, Any],
    renderer: render_template.Renderer,
    doc: dict[str, tuple[set[Grant], set[Invoker]]],
    function: str,
    count: int,
) -> str:
    grants, _ = expected(doc, function)
    conditions = {name: renderer.condition(name) for name in renderer.template.get("Conditions", {})}
    # The customer key is an !If between the created key and yours: the doc names both.
    keys = {"DataKey", renderer.chosen["CustomerKmsKeyArn"]}
    derived = {
        grant._replace(resource="DataKey or CustomerKmsKeyArn") if grant.resource in keys else grant
        for grant in role_grants(rendered, function)
    }
    return difference(derived, expand(grants, _values(count), conditions))


@pytest.mark.parametrize("count", [0, 1, 3])
@pytest.mark.parametrize(
    "key", ["", "create", "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"]
)
@pytest.mark.parametrize("function", TOOLKIT_FUNCTIONS)
def test_the_toolkits_roles_name_exactly_the_arns_given_for_every_list_shape(
    doc: dict[str, tuple[set[Grant], set[Invoker]]], function: str, key: str, count: int
) -> None:
    rendered, renderer = _render(count, CustomerKmsKeyArn=key)
    assert _concrete_difference(rendered, renderer, doc, function, count) == ""
    granted = {grant.resource for grant in role_grants(rendered, function)}
    assert "" not in granted  # an empty list grants nothing, not an empty resource
    given = {arn for arns in _values(count).values() for arn in arns}
    assert (
        len({resource.removesuffix(":*") for resource in granted} & given) == LISTS_GRANTED[function] * count
    )


def test_a_concrete_extra_action_or_resource_is_caught(
    doc: dict[str, tuple[set[Grant], set[Invoker]]],
) -> None:
    rendered, renderer = _render(3)
    assert _concrete_difference(rendered, renderer, doc, "RedriveFunction", 3) == ""
    statements = rendered["Resources"]["RedriveFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"][
        "Statement"
    ]
    [watched] = [s for s in statements if s.get("Sid") == "ReadTheWatchedDeadLetterQueues"]
    changed = copy.deepcopy(rendered)
    [same] = [
        s
        for s in changed["Resources"]["RedriveFunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"][
            "Statement"
        ]
        if s.get("Sid") == watched["Sid"]
    ]
    same["Action"].append("sqs:PurgeQueue")
    same["Resource"].append("arn:aws:sqs:eu-west-1:123456789012:someone-elses-queue")
    found = _concrete_difference(changed, renderer, doc, "RedriveFunction", 3)
    assert (
        "Grant(action='sqs:PurgeQueue', resource='arn:aws:sqs:eu-west-1:123456789012:app-dlq-1', when='always')"
        in found
    )
    assert "resource='arn:aws:sqs:eu-west-1:123456789012:someone-elses-queue'" in found


def test_the_redrives_allow_list_and_its_role_name_the_same_targets() -> None:
    for count in (0, 1, 3):
        rendered, _ = _render(count)
        variables = rendered["Resources"]["RedriveFunction"]["Properties"]["Environment"]["Variables"]
        allowed_queues = variables["REDRIVE_ALLOWED_QUEUES"]["Fn::Join"][1]
        queues = {
            queue
            for part in allowed_queues
            for queue in (part.split(",") if isinstance(part, str) else [part["Fn::GetAtt"][0]])
        } - {""}
        functions_allowed = set(filter(None, variables["REDRIVE_ALLOWED_FUNCTIONS"].split(",")))
        grants = role_grants(rendered, "RedriveFunction")
        assert {g.resource for g in grants if g.action == "sqs:SendMessage"} == queues
        assert {g.resource.removesuffix(":*") for g in grants if g.action == "lambda:InvokeFunction"} == (
            functions_allowed
        )
        assert queues == {"FailureQueue", *_values(count)["RedriveTargetQueueArns"]}
        assert functions_allowed == set(_values(count)["RedriveTargetFunctionArns"])


def test_only_the_given_topics_may_send_to_the_failure_queue() -> None:
    for count in (0, 1, 3):
        rendered, _ = _render(count, CustomerKmsKeyArn="create")
        statements = rendered["Resources"]["FailureQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
        topics = [s for s in statements if s["Principal"] == {"Service": "sns.amazonaws.com"}]
        key = rendered["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
        key_topics = [s for s in key if s["Principal"] == {"Service": "sns.amazonaws.com"}]
        if count == 0:
            assert topics == key_topics == []
            continue
        for statement in (*topics, *key_topics):
            assert statement["Condition"] == {
                "ArnEquals": {"aws:SourceArn": _values(count)["FailureSourceTopicArns"]}
            }


# ---------------------------------------------------------------- the symbolic checks, both templates


def _statements(transformed: dict[str, Any], role: str) -> list[dict[str, Any]]:
    """The statements of the role's unconditional policy (its first)."""
    policy = transformed["Resources"][role]["Properties"]["Policies"][0]
    statements: list[dict[str, Any]] = policy["PolicyDocument"]["Statement"]
    return statements


def test_an_extra_action_on_a_role_is_caught(doc: dict[str, tuple[set[Grant], set[Invoker]]]) -> None:
    # Given the doc agrees with the template, when one action is added to one of the consumer's statements
    transformed = _fresh(TOOLKIT_TEMPLATE)
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
    doc: dict[str, tuple[set[Grant], set[Invoker]]],
) -> None:
    sample, toolkit = _fresh(SAMPLE_TEMPLATE), _fresh(TOOLKIT_TEMPLATE)
    _statements(sample, "SqsOrdersFunctionRole").append(
        {
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": {"Fn::GetAtt": ["Toolkit", "Outputs.FailureQueueArn"]},
        }
    )
    sample["Resources"]["KinesisOrdersFunctionRole"]["Properties"]["ManagedPolicyArns"] = [
        "arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole"
    ]
    toolkit["Resources"]["Sneaky"] = {
        "Type": "AWS::IAM::Policy",
        "Properties": {
            "PolicyName": "sneaky",
            "Roles": [{"Ref": "RedriveFunctionRole"}],
            "PolicyDocument": {
                "Statement": [{"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "*"}]
            },
        },
    }
    assert (
        "Grant(action='sqs:SendMessage', resource='Toolkit.Outputs.FailureQueueArn', when='always')"
        in _compare(sample, doc, "SqsOrdersFunction")
    )
    assert (
        "Grant(action='managed-policy', resource='arn:aws:iam::aws:policy/service-role/AWSLambdaKinesisExecutionRole'"
        in (_compare(sample, doc, "KinesisOrdersFunction"))
    )
    assert "Grant(action='sqs:SendMessage', resource='*', when='always')" in _compare(
        toolkit, doc, "RedriveFunction"
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
    doc: dict[str, tuple[set[Grant], set[Invoker]]], function_name: Any
) -> None:
    toolkit = _fresh(TOOLKIT_TEMPLATE)
    toolkit["Resources"]["RedriveFromAnywhere"] = {
        "Type": "AWS::Lambda::Permission",
        "Properties": {
            "Action": "lambda:InvokeFunction",
            "FunctionName": function_name,
            "Principal": "events.amazonaws.com",
        },
    }
    assert _compare(toolkit, doc, "RedriveFunction") == (
        "  in the template, not in docs/permissions.md: Invoker(principal='events.amazonaws.com', "
        "action='lambda:InvokeFunction', source_arn='-', source_account='-')"
    )
    assert _compare(toolkit, doc, "FailureConsumerFunction") == ""  # the others are unchanged


@pytest.mark.parametrize("path", [SAMPLE_TEMPLATE, TOOLKIT_TEMPLATE], ids=["sample", "toolkit"])
def test_every_function_has_a_role_of_its_own(path: Path) -> None:
    transformed = _fresh(path)
    resources = transformed["Resources"]
    roles = [resources[name]["Properties"]["Role"]["Fn::GetAtt"][0] for name in functions(transformed)]
    assert len(set(roles)) == len(roles) == len(functions(transformed))
    for role in roles:
        properties = resources[role]["Properties"]
        assert properties["AssumeRolePolicyDocument"]["Statement"] == [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ]
        assert "RoleName" not in properties  # CAPABILITY_IAM suffices; stages do not collide


@pytest.mark.parametrize("path", [SAMPLE_TEMPLATE, TOOLKIT_TEMPLATE], ids=["sample", "toolkit"])
def test_no_wildcard_action_and_no_star_resource_but_for_unscopable_actions(path: Path) -> None:
    transformed = _fresh(path)
    for function in functions(transformed):
        for grant in role_grants(transformed, function):
            assert "*" not in grant.action, (function, grant)
            if grant.resource == "*":
                assert grant.action in NOT_SCOPABLE, (function, grant)


def test_every_service_invoker_is_scoped_to_its_source() -> None:
    permissions = [
        body["Properties"]
        for path in (SAMPLE_TEMPLATE, TOOLKIT_TEMPLATE)
        for body in _fresh(path)["Resources"].values()
        if body["Type"] == "AWS::Lambda::Permission"
    ]
    assert permissions  # the sample's SNS subscription and EventBridge rule
    for permission in permissions:
        # Only AWS services are let in through a resource policy (no account, no "*"), each scoped.
        assert str(permission["Principal"]).endswith(".amazonaws.com"), permission
        assert "SourceArn" in permission, permission
        if permission["Principal"] in SERVICE_PRINCIPALS_NEEDING_SOURCE_ACCOUNT:
            assert "SourceAccount" in permission, permission


def test_the_toolkits_functions_have_no_resource_policy() -> None:
    toolkit = _fresh(TOOLKIT_TEMPLATE)
    assert invokers(toolkit, "RedriveFunction") == invokers(toolkit, "FailureConsumerFunction") == set()


@pytest.mark.parametrize("path", [SAMPLE_TEMPLATE, TOOLKIT_TEMPLATE], ids=["sample", "toolkit"])
def test_vpc_permissions_come_only_with_the_vpc(path: Path) -> None:
    transformed = _fresh(path)
    for function in functions(transformed):
        network = {grant for grant in role_grants(transformed, function) if grant.action.startswith("ec2:")}
        assert network, function
        assert {grant.when for grant in network} == {"AttachToVpc"}, function
        assert transformed["Resources"][function]["Properties"]["VpcConfig"]["Fn::If"][0] == "AttachToVpc"


def test_always_grants_do_not_depend_on_the_list_parameters() -> None:
    """The toolkit with nothing of yours still works on its own queues and ledger."""
    rendered, _ = _render(0)
    for function in TOOLKIT_FUNCTIONS:
        grants = role_grants(rendered, function)
        assert {grant.when for grant in grants} == {ALWAYS}
        assert any(grant.resource == "LedgerTable" for grant in grants)

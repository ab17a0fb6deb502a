"""The audit's pieces without a template file or an account: references computed in the placeholder
account, policy documents read as IAM writes them, the key rule for both kinds of sender, and the
account path's refusals (a session that raises as botocore does)."""

import argparse
from io import StringIO
from typing import Any

import pytest
from botocore.exceptions import ClientError

from lambda_failure_toolkit.cli.audit.command import run_audit
from lambda_failure_toolkit.cli.audit.model import Function, Key, Model, Queue, Role, Statement, Subscription
from lambda_failure_toolkit.cli.audit.policy import statements_of
from lambda_failure_toolkit.cli.audit.resolve import Resolver
from lambda_failure_toolkit.cli.audit.rules import audit

TEMPLATE = {
    "Parameters": {
        "Names": {"Type": "CommaDelimitedList", "Default": ["a", "b"]},
        "Stage": {"Default": "dev"},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 128}}},
    "Resources": {
        "Fifo": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True}},
        "Named": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "orders-${Stage}"}}},
        "Key": {"Type": "AWS::KMS::Key", "Properties": {}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {}},
    },
}


@pytest.mark.parametrize(
    ("node", "value"),
    [
        ({"Ref": "Fifo"}, "https://sqs.us-east-1.amazonaws.com/123456789012/Fifo.fifo"),
        ({"Fn::GetAtt": "Named.Arn"}, "arn:aws:sqs:us-east-1:123456789012:orders-dev"),
        ({"Fn::GetAtt": ["Named", "QueueName"]}, "orders-dev"),
        ({"Fn::GetAtt": ["Key", "Arn"]}, "arn:aws:kms:us-east-1:123456789012:key/Key"),
        ({"Ref": "Key"}, "Key"),
        ({"Ref": "Topic"}, "arn:aws:sns:us-east-1:123456789012:Topic"),
        ({"Fn::Select": [1, {"Ref": "Names"}]}, "b"),
        ({"Fn::Select": [5, {"Ref": "Names"}]}, "<select>"),
        ({"Fn::Join": ["-", [{"Ref": "AWS::Region"}, {"Ref": "Stage"}]]}, "us-east-1-dev"),
        ({"Fn::Split": [",", "x,y"]}, ["x", "y"]),
        ({"Fn::FindInMap": ["Sizes", "dev", "Memory"]}, 128),
        ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b"]),
        ({"Fn::ImportValue": "shared-queue"}, "<Fn::ImportValue>"),
        ({"Fn::GetAtt": ["Nested", "Outputs.QueueArn"]}, "<Nested.Outputs.QueueArn>"),
        (
            {"Fn::Sub": ["${Queue}/*", {"Queue": {"Fn::GetAtt": ["Named", "Arn"]}}]},
            "arn:aws:sqs:us-east-1:123456789012:orders-dev/*",
        ),
        ({"Fn::Sub": "${Named.QueueName}@${AWS::AccountId}"}, "orders-dev@123456789012"),
        ({"Ref": "Elsewhere"}, "<Elsewhere>"),
    ],
)
def test_references_become_the_values_of_the_placeholder_account(node: Any, value: Any) -> None:
    assert Resolver(TEMPLATE).resolve(node) == value


def test_policy_documents_as_iam_writes_them() -> None:
    # A single statement, a `*` principal, a NotAction, and something that is no document at all
    [statement] = statements_of({"Statement": {"Effect": "Allow", "Principal": "*", "NotAction": "iam:*"}})
    assert (statement.principals, statement.not_actions, statement.resources) == (("*",), True, ("*",))
    assert statements_of("not a document") == ()


def _key_model(key_statements: tuple[Statement, ...], role_statements: tuple[Statement, ...]) -> Model:
    function = Function(
        "arn:aws:lambda:eu-west-1:123456789012:function:f",
        "f",
        "role",
        dead_letter_arn="dlq",
        has_invoke_config=True,
    )
    return Model(
        account="123456789012",
        region="eu-west-1",
        functions={function.arn: function},
        roles={"role": Role("role", (Statement("Allow", ("sqs:SendMessage",)), *role_statements))},
        queues={"dlq": Queue("dlq", kms_key="key")},
        keys={"key": Key("key", key_statements)},
    )


def test_a_role_uses_a_key_through_the_account_root_only_with_its_own_kms_permissions() -> None:
    root = (Statement("Allow", ("kms:*",), principals=("arn:aws:iam::123456789012:root",)),)
    kms = (Statement("Allow", ("kms:GenerateDataKey", "kms:Decrypt")),)
    assert "KMS-001" in {f.rule.id for f in audit(_key_model(root, ()))}
    assert "KMS-001" not in {f.rule.id for f in audit(_key_model(root, kms))}


def test_a_service_cannot_use_an_aws_managed_key() -> None:
    model = Model(
        account="123456789012",
        region="eu-west-1",
        queues={"dlq": Queue("dlq", kms_key="alias/aws/sqs")},
        subscriptions=[Subscription("s", "topic", "sqs", "queue", dead_letter_arn="dlq")],
    )
    [finding] = audit(model)
    assert (finding.rule.id, finding.detail) == (
        "KMS-001",
        "encrypted with alias/aws/sqs, whose policy sns.amazonaws.com may not use",
    )


def _args(**kwargs: Any) -> argparse.Namespace:
    defaults = {
        "template": None,
        "region": "eu-west-1",
        "profile": None,
        "endpoint_url": None,
        "stack_name": None,
    }
    return argparse.Namespace(**(defaults | kwargs | {"json": False, "fail_on": "high", "parameters": []}))


class _Refusing:
    """A session whose every client call raises `error`, as botocore would."""

    def __init__(self, error: Exception) -> None:
        self.error = error
        self.region_name = "eu-west-1"

    def client(self, *_: Any, **__: Any) -> Any:
        error = self.error

        class _Client:
            def __getattr__(self, _: str) -> Any:
                def call(**__: Any) -> Any:
                    raise error

                return call

        return _Client()


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetCallerIdentity"),
            "dlq audit: the credentials may not read the account (AccessDenied: no)\n",
        ),
        (
            ClientError({"Error": {"Code": "ExpiredToken", "Message": "old"}}, "GetCallerIdentity"),
            "dlq audit: AWS refused the credentials (ExpiredToken: old): refresh them (e.g. aws sso login)\n",
        ),
        (
            ValueError("Invalid endpoint: nope"),
            "dlq audit: Invalid endpoint: nope: check --region and --endpoint-url\n",
        ),
    ],
)
def test_what_the_operator_must_fix_is_one_line_and_exit_2(error: Exception, message: str) -> None:
    err = StringIO()
    assert run_audit(_args(), StringIO(), err, lambda **_: _Refusing(error)) == 2
    assert err.getvalue() == message


def test_an_error_the_audit_cannot_explain_is_raised() -> None:
    error = ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "later"}}, "ListFunctions")
    with pytest.raises(ClientError):
        run_audit(_args(), StringIO(), StringIO(), lambda **_: _Refusing(error))


def test_a_policy_document_given_as_url_encoded_text_is_read() -> None:
    from lambda_failure_toolkit.cli.audit.live_reader import _document

    text = "%7B%22Statement%22%3A%20%5B%5D%7D"  # {"Statement": []}, as IAM's API sends it on the wire
    assert _document(text) == {"Statement": []}
    assert _document({"Statement": []}) == {"Statement": []}

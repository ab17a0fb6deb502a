"""Every store of messages and records is encrypted; CustomerKmsKeyArn moves every one of them to a customer
key; the key policy lets in only the services that must use the key, each scoped to this stack."""

import json
from typing import Any

import pytest

from tests.template import render_template, template

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
DATA_KEY = {"Fn::GetAtt": ["DataKey", "Arn"]}


def _rendered(**overrides: str) -> dict[str, Any]:
    rendered: dict[str, Any] = render_template.Renderer(
        json.loads(json.dumps(template())), overrides
    ).rendered()
    return rendered


def _of_type(rendered: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: body["Properties"] for name, body in rendered["Resources"].items() if body["Type"] == kind}


def _key_uses(rendered: dict[str, Any]) -> dict[str, Any]:
    """Where each store takes its key from."""
    uses: dict[str, Any] = {}
    for name, queue in _of_type(rendered, "AWS::SQS::Queue").items():
        uses[name] = queue.get(
            "KmsMasterKeyId", "SSE-SQS" if queue.get("SqsManagedSseEnabled") is True else None
        )
    for name, topic in _of_type(rendered, "AWS::SNS::Topic").items():
        uses[name] = topic.get("KmsMasterKeyId")
    for name, table in _of_type(rendered, "AWS::DynamoDB::Table").items():
        sse = table["SSESpecification"]
        uses[name] = (
            sse.get("KMSMasterKeyId", "aws/dynamodb")
            if sse == sse | {"SSEEnabled": True, "SSEType": "KMS"}
            else None
        )
    for name, stream in _of_type(rendered, "AWS::Kinesis::Stream").items():
        uses[name] = stream["StreamEncryption"]["KeyId"]
    for name, bucket in _of_type(rendered, "AWS::S3::Bucket").items():
        [rule] = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        default = rule["ServerSideEncryptionByDefault"]
        uses[name] = default.get("KMSMasterKeyID", "aws/s3") if default["SSEAlgorithm"] == "aws:kms" else None
    for name, group in _of_type(rendered, "AWS::Logs::LogGroup").items():
        uses[name] = group.get("KmsKeyId", "CloudWatch Logs")
    uses["Globals.Function"] = rendered["Globals"]["Function"].get("KmsKeyArn", "aws/lambda")
    return uses


def test_by_default_every_store_is_encrypted_with_an_aws_key() -> None:
    uses = _key_uses(_rendered())
    assert len(uses) == 8 + 2 + 4 + 1 + 1 + 7 + 1
    assert None not in uses.values(), uses
    assert uses["AlertTopic"] == {"Ref": "AlertTopicKey"}  # CloudWatch alarms need a customer key there
    assert {uses[name] for name in uses if name != "AlertTopic"} == {
        "SSE-SQS",
        "alias/aws/sns",
        "aws/dynamodb",
        "alias/aws/kinesis",
        "aws/s3",
        "CloudWatch Logs",
        "aws/lambda",
    }
    assert "DataKey" not in _rendered()["Resources"]


@pytest.mark.parametrize(("setting", "key"), [("create", DATA_KEY), (KEY_ARN, {"Ref": "CustomerKmsKeyArn"})])
def test_a_customer_key_reaches_every_store(setting: str, key: Any) -> None:
    rendered = _rendered(CustomerKmsKeyArn=setting)
    uses = _key_uses(rendered)
    assert {name: use for name, use in uses.items() if name != "AlertTopic"} == dict.fromkeys(
        set(uses) - {"AlertTopic"}, key
    )
    assert ("DataKey" in rendered["Resources"]) is (setting == "create")


def test_the_data_key_lets_in_only_scoped_services() -> None:
    rendered = _rendered(CustomerKmsKeyArn="create", FailureDestinationBucketName="example-lambda-failures")
    key = rendered["Resources"]["DataKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    statements = key["KeyPolicy"]["Statement"]
    services = {
        json.dumps(statement["Principal"]["Service"]): statement
        for statement in statements
        if "Service" in statement["Principal"]
    }
    assert set(services) == {
        '"events.amazonaws.com"',
        '"s3.amazonaws.com"',
        json.dumps({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}),
    }
    for statement in services.values():
        assert statement["Condition"], statement  # each scoped to this stack's rule, bucket or log groups
        assert "kms:*" not in statement["Action"]
    [events] = [s for s in services.values() if s["Principal"]["Service"] == "events.amazonaws.com"]
    rule_arn = events["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert rule_arn.endswith(":rule/lambda-failure-events-${Stage}")  # the default bus's rule ARN
    assert rendered["Resources"]["FailureEventsRule"]["Properties"]["Name"] == {
        "Fn::Sub": "lambda-failure-events-${Stage}"
    }
    [logs] = [s for s in services.values() if "logs" in json.dumps(s["Principal"])]
    groups = {
        arn["Fn::Sub"].rsplit(":", 1)[1]
        for arn in logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    }
    assert groups == {
        group["LogGroupName"]["Fn::Sub"] for group in _of_type(rendered, "AWS::Logs::LogGroup").values()
    }
    without_bucket = _rendered(CustomerKmsKeyArn="create")["Resources"]["DataKey"]["Properties"]["KeyPolicy"]
    assert "s3.amazonaws.com" not in json.dumps(without_bucket)


def test_a_rule_on_another_bus_is_named_with_its_bus() -> None:
    rendered = _rendered(CustomerKmsKeyArn="create", FailureEventBusName="failures")
    [events] = [
        s
        for s in rendered["Resources"]["DataKey"]["Properties"]["KeyPolicy"]["Statement"]
        if s["Principal"] == {"Service": "events.amazonaws.com"}
    ]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":rule/${FailureEventBusName}/lambda-failure-events-${Stage}"
    )


def test_the_vpc_is_attached_only_when_asked_and_to_every_function() -> None:
    assert "VpcConfig" not in _rendered()["Globals"]["Function"]
    assert "FunctionsVpcAccessPolicy" not in _rendered()["Resources"]
    rendered = _rendered(VpcSubnetIds="subnet-0a1b2c3d,subnet-4e5f6a7b", VpcSecurityGroupIds="sg-0c1d2e3f")
    assert rendered["Globals"]["Function"]["VpcConfig"] == {
        "SubnetIds": {"Ref": "VpcSubnetIds"},
        "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"},
    }
    roles = _of_type(rendered, "AWS::IAM::Role")
    assert len(roles) == 7
    assert all(role["ManagedPolicyArns"] == [{"Ref": "FunctionsVpcAccessPolicy"}] for role in roles.values())
    assert all("ManagedPolicyArns" not in role for role in _of_type(_rendered(), "AWS::IAM::Role").values())


def test_every_function_logs_to_its_own_group_with_a_retention() -> None:
    resources = template()["Resources"]
    functions = {
        name: body for name, body in resources.items() if body["Type"] == "AWS::Serverless::Function"
    }
    for name, body in functions.items():
        group = resources[f"{name}LogGroup"]["Properties"]
        assert (
            group["LogGroupName"]["Fn::Sub"] == "/aws/lambda/" + body["Properties"]["FunctionName"]["Fn::Sub"]
        )
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}

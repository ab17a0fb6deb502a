"""Every store of messages and records is encrypted, in both templates; CustomerKmsKeyArn moves every one
of them to a customer key (the sample hands its key to the nested toolkit); each key policy lets in only
the services that must use the key, each scoped to its source."""

import json
from pathlib import Path
from typing import Any

import pytest

from tests.template import SAMPLE, TOOLKIT, render_template, template

KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/0a1b2c3d-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
DATA_KEY = {"Fn::GetAtt": ["DataKey", "Arn"]}
TOOLKIT_LOG_GROUPS = {"/aws/lambda/failure-consumer-${Stage}", "/aws/lambda/redrive-${Stage}"}


def _rendered(path: Path = SAMPLE, **overrides: str) -> dict[str, Any]:
    rendered: dict[str, Any] = render_template.Renderer(
        json.loads(json.dumps(template(path))), overrides
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
    for name, application in _of_type(rendered, "AWS::Serverless::Application").items():
        uses[name] = application["Parameters"]["CustomerKmsKeyArn"] or "its own defaults"
    return uses


def test_by_default_every_store_is_encrypted_with_an_aws_key() -> None:
    sample, toolkit = _key_uses(_rendered(SAMPLE)), _key_uses(_rendered(TOOLKIT))
    # sample: 6 queues, the order topic, 3 tables, the stream, 5 log groups, the functions, the toolkit
    # toolkit: 2 queues, the alert topic, the ledger table and bucket, 2 log groups, the functions
    assert (len(sample), len(toolkit)) == (8 + 1 + 3 + 1 + 5 + 1 + 1, 2 + 1 + 1 + 1 + 2 + 1)
    assert None not in [*sample.values(), *toolkit.values()]
    assert toolkit["AlertTopic"] == {"Ref": "AlertTopicKey"}  # CloudWatch alarms need a customer key there
    assert {use for name, use in (sample | toolkit).items() if name != "AlertTopic"} == {
        "SSE-SQS",
        "alias/aws/sns",
        "aws/dynamodb",
        "alias/aws/kinesis",
        "aws/s3",
        "CloudWatch Logs",
        "aws/lambda",
        "its own defaults",
    }
    assert "DataKey" not in _rendered(SAMPLE)["Resources"]
    assert "DataKey" not in _rendered(TOOLKIT)["Resources"]


@pytest.mark.parametrize(("setting", "key"), [("create", DATA_KEY), (KEY_ARN, {"Ref": "CustomerKmsKeyArn"})])
@pytest.mark.parametrize("path", [SAMPLE, TOOLKIT], ids=["sample", "toolkit"])
def test_a_customer_key_reaches_every_store(path: Path, setting: str, key: Any) -> None:
    rendered = _rendered(path, CustomerKmsKeyArn=setting)
    uses = {name: use for name, use in _key_uses(rendered).items() if name != "AlertTopic"}
    # In the sample, the toolkit is handed the same key (the ARN of the key the sample created, or yours).
    assert uses == dict.fromkeys(uses, key)
    assert ("DataKey" in rendered["Resources"]) is (setting == "create")


def _service_statements(key: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The key policy's statements that let a service in, by Sid."""
    return {
        statement["Sid"]: statement
        for statement in key["KeyPolicy"]["Statement"]
        if "Service" in statement["Principal"]
    }


def _services(statements: dict[str, dict[str, Any]]) -> set[str]:
    return {json.dumps(statement["Principal"]["Service"]) for statement in statements.values()}


@pytest.mark.parametrize("path", [SAMPLE, TOOLKIT], ids=["sample", "toolkit"])
def test_the_data_key_lets_in_only_scoped_services(path: Path) -> None:
    options = {"CustomerKmsKeyArn": "create", "FailureDestinationBucketName": "example-lambda-failures"}
    if path == TOOLKIT:
        options["FailureSourceTopicArns"] = "arn:aws:sns:eu-west-1:123456789012:app-failures"
    rendered = _rendered(path, **options)
    key = rendered["Resources"]["DataKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = _service_statements(key)
    expected = {
        '"events.amazonaws.com"',
        '"s3.amazonaws.com"',
        '"sns.amazonaws.com"',
        json.dumps({"Fn::Sub": "logs.${AWS::Region}.amazonaws.com"}),
    }
    assert _services(services) == expected
    for statement in services.values():
        assert statement["Condition"], statement  # each scoped to its rule, bucket, topics or log groups
        assert "kms:*" not in statement["Action"]
    events = services["FailureEventsRuleSendsToTheFailureQueues"]
    rule_arn = events["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"]
    assert rule_arn.endswith(":rule/lambda-failure-events-${Stage}")  # the default bus's rule: the toolkit's
    assert template(TOOLKIT)["Resources"]["FailureEventsRule"]["Properties"]["Name"] == {
        "Fn::Sub": "lambda-failure-events-${Stage}"
    }
    logs = services["LogsEncryptTheFunctionsLogGroups"]
    groups = {
        arn["Fn::Sub"].rsplit(":", 1)[1]
        for arn in logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"]
    }
    own = {group["LogGroupName"]["Fn::Sub"] for group in _of_type(rendered, "AWS::Logs::LogGroup").values()}
    # The sample's key serves the nested toolkit's log groups too.
    assert groups == own | TOOLKIT_LOG_GROUPS
    without_bucket = _rendered(path, CustomerKmsKeyArn="create")["Resources"]["DataKey"]["Properties"][
        "KeyPolicy"
    ]
    assert "s3.amazonaws.com" not in json.dumps(without_bucket)
    # The toolkit's SNS statement exists only with FailureSourceTopicArns; the sample's, for its
    # subscription's DLQ, always
    assert ("sns.amazonaws.com" in json.dumps(without_bucket)) == (path == SAMPLE)


def test_the_sample_key_lets_its_rule_and_topic_dead_letter_to_their_encrypted_dlqs() -> None:
    rendered = _rendered(SAMPLE, CustomerKmsKeyArn="create")
    statements = _service_statements(rendered["Resources"]["DataKey"]["Properties"])
    rule, topic = statements["OrderEventsRuleDeadLetters"], statements["OrderEventsSubscriptionDeadLetters"]
    assert rule["Principal"] == {"Service": "events.amazonaws.com"}
    assert rule["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(":rule/order-events-${Stage}")
    assert topic["Principal"] == {"Service": "sns.amazonaws.com"}
    assert topic["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(":order-events-${Stage}")
    assert set(rule["Action"]) == set(topic["Action"]) == {"kms:GenerateDataKey", "kms:Decrypt"}
    # They name the rule and topic the template makes
    [event] = [
        e
        for e in template(SAMPLE)["Resources"]["OrderEventsFunction"]["Properties"]["Events"].values()
        if e["Type"] == "EventBridgeRule"
    ]
    assert event["Properties"]["RuleName"] == {"Fn::Sub": "order-events-${Stage}"}
    assert template(SAMPLE)["Resources"]["OrderEventsTopic"]["Properties"]["TopicName"] == {
        "Fn::Sub": "order-events-${Stage}"
    }
    for queue in ("OrderEventsRuleDLQ", "OrderEventsSubscriptionDLQ"):
        assert rendered["Resources"][queue]["Properties"]["KmsMasterKeyId"] == DATA_KEY


@pytest.mark.parametrize("path", [SAMPLE, TOOLKIT], ids=["sample", "toolkit"])
def test_a_rule_on_another_bus_is_named_with_its_bus(path: Path) -> None:
    rendered = _rendered(path, CustomerKmsKeyArn="create", FailureEventBusName="failures")
    events = _service_statements(rendered["Resources"]["DataKey"]["Properties"])[
        "FailureEventsRuleSendsToTheFailureQueues"
    ]
    assert events["Condition"]["ArnEquals"]["aws:SourceArn"]["Fn::Sub"].endswith(
        ":rule/${FailureEventBusName}/lambda-failure-events-${Stage}"
    )


@pytest.mark.parametrize(("path", "roles"), [(SAMPLE, 5), (TOOLKIT, 2)], ids=["sample", "toolkit"])
def test_the_vpc_is_attached_only_when_asked_and_to_every_function(path: Path, roles: int) -> None:
    assert "VpcConfig" not in _rendered(path)["Globals"]["Function"]
    assert "FunctionsVpcAccessPolicy" not in _rendered(path)["Resources"]
    rendered = _rendered(
        path, VpcSubnetIds="subnet-0a1b2c3d,subnet-4e5f6a7b", VpcSecurityGroupIds="sg-0c1d2e3f"
    )
    assert rendered["Globals"]["Function"]["VpcConfig"] == {
        "SubnetIds": {"Ref": "VpcSubnetIds"},
        "SecurityGroupIds": {"Ref": "VpcSecurityGroupIds"},
    }
    found = _of_type(rendered, "AWS::IAM::Role")
    assert len(found) == roles
    assert all(role["ManagedPolicyArns"] == [{"Ref": "FunctionsVpcAccessPolicy"}] for role in found.values())
    assert all(
        "ManagedPolicyArns" not in role for role in _of_type(_rendered(path), "AWS::IAM::Role").values()
    )


@pytest.mark.parametrize("path", [SAMPLE, TOOLKIT], ids=["sample", "toolkit"])
def test_every_function_logs_to_its_own_group_with_a_retention(path: Path) -> None:
    resources = template(path)["Resources"]
    functions = {
        name: body for name, body in resources.items() if body["Type"] == "AWS::Serverless::Function"
    }
    assert functions
    for name, body in functions.items():
        group = resources[f"{name}LogGroup"]["Properties"]
        assert (
            group["LogGroupName"]["Fn::Sub"] == "/aws/lambda/" + body["Properties"]["FunctionName"]["Fn::Sub"]
        )
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}

"""Create a test template's resources in moto, as CloudFormation would (the names and ARNs the template
reader computes: account 123456789012, us-east-1), for `dlq audit`'s live path to read back."""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import boto3

from lambda_failure_toolkit.cli.audit.policy import AWS_MANAGED
from lambda_failure_toolkit.cli.audit.template_reader import resolved_resources
from lambda_failure_toolkit.cli.audit.transform import parse, transformed

REGION = "us-east-1"
_CODE = io.BytesIO()
with zipfile.ZipFile(_CODE, "w") as archive:
    archive.writestr("app.py", "def handler(event, context):\n    return None\n")


def _of(resources: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any]]]:
    return [(body["Ref"], body["Properties"]) for body in resources.values() if body["Type"] == kind]


def _json(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _managed(iam: Any, arn: str) -> str:
    """An AWS managed policy as a customer managed one of the same name and actions: moto loads its ~1,000
    AWS managed policies in a second for each account, which would make this tier slow."""
    name = arn.rsplit("/", 1)[-1]
    statements = [
        {"Effect": s.effect, "Action": list(s.actions), "Resource": list(s.resources)}
        for s in AWS_MANAGED[name]
    ]
    document = json.dumps({"Version": "2012-10-17", "Statement": statements})
    try:
        return str(iam.create_policy(PolicyName=name, PolicyDocument=document)["Policy"]["Arn"])
    except iam.exceptions.EntityAlreadyExistsException:
        return f"arn:aws:iam::123456789012:policy/{name}"


def deploy(path: Path) -> None:
    """Every resource of the template at `path` the audit reads, in the current moto account."""
    resources = resolved_resources(transformed(parse(path)), {})
    client = lambda name: boto3.client(name, region_name=REGION)  # noqa: E731
    kms, iam, sqs, sns = client("kms"), client("iam"), client("sqs"), client("sns")
    key_arns: dict[str, str] = {}
    for body in resources.values():
        if body["Type"] == "AWS::KMS::Key":
            created = kms.create_key(Policy=json.dumps(body["Properties"]["KeyPolicy"]))
            key_arns[str(body["Ref"])] = created["KeyMetadata"]["Arn"]
    for name, properties in _of(resources, "AWS::IAM::Role"):
        iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=json.dumps(properties["AssumeRolePolicyDocument"])
        )
        for index, policy in enumerate(properties.get("Policies", [])):
            iam.put_role_policy(
                RoleName=name,
                PolicyName=policy.get("PolicyName", f"policy{index}"),
                PolicyDocument=json.dumps({"Version": "2012-10-17"} | policy["PolicyDocument"]),
            )
        for arn in properties.get("ManagedPolicyArns", []):
            iam.attach_role_policy(RoleName=name, PolicyArn=_managed(iam, arn))
    queues = _of(resources, "AWS::SQS::Queue")
    for name, properties in sorted(queues, key=lambda queue: "RedrivePolicy" in queue[1]):
        attributes = {
            key: str(properties[key])
            for key in ("VisibilityTimeout", "MessageRetentionPeriod")
            if key in properties
        }
        if "RedrivePolicy" in properties:
            attributes["RedrivePolicy"] = _json(properties["RedrivePolicy"])
        if "KmsMasterKeyId" in properties:
            attributes["KmsMasterKeyId"] = key_arns.get(
                properties["KmsMasterKeyId"], properties["KmsMasterKeyId"]
            )
        sqs.create_queue(QueueName=str(name).rsplit("/", 1)[-1], Attributes=attributes)
    for _, properties in _of(resources, "AWS::SNS::Topic"):
        sns.create_topic(Name=properties.get("TopicName", "Topic"))
    for name, _ in _of(resources, "AWS::Kinesis::Stream"):
        client("kinesis").create_stream(StreamName=name, ShardCount=1)
    _functions(resources, client("lambda"))
    for _, properties in _of(resources, "AWS::SNS::Subscription"):
        attributes = (
            {"RedrivePolicy": _json(properties["RedrivePolicy"])} if "RedrivePolicy" in properties else {}
        )
        sns.subscribe(
            TopicArn=properties["TopicArn"],
            Protocol=properties["Protocol"],
            Endpoint=properties["Endpoint"],
            Attributes=attributes,
        )
    events = client("events")
    for name, properties in _of(resources, "AWS::Events::Rule"):
        events.put_rule(Name=name, EventPattern=json.dumps(properties["EventPattern"]))
        events.put_targets(Rule=name, Targets=properties["Targets"])


def _functions(resources: dict[str, Any], lambda_: Any) -> None:
    for name, properties in _of(resources, "AWS::Lambda::Function"):
        optional = {
            key: properties[key] for key in ("DeadLetterConfig", "VpcConfig", "Timeout") if key in properties
        }
        lambda_.create_function(
            FunctionName=name,
            Runtime=properties["Runtime"],
            Handler=properties["Handler"],
            Role=properties["Role"],
            Code={"ZipFile": _CODE.getvalue()},
            **optional,
        )
    for _, properties in _of(resources, "AWS::Lambda::EventInvokeConfig"):
        settings = {
            key: properties[key]
            for key in ("MaximumRetryAttempts", "MaximumEventAgeInSeconds", "DestinationConfig")
            if key in properties
        }
        lambda_.put_function_event_invoke_config(FunctionName=properties["FunctionName"], **settings)
    for _, properties in _of(resources, "AWS::Lambda::EventSourceMapping"):
        lambda_.create_event_source_mapping(
            **{key: value for key, value in properties.items() if key != "Enabled"}
        )
    for sid, properties in _of(resources, "AWS::Lambda::Permission"):
        lambda_.add_permission(StatementId=sid, **properties)

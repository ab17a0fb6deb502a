"""The intrinsic functions of a rendered template computed in a placeholder account, so that every
reference becomes the ARN, name or URL the resource would have there (a name the template gives, else
its logical id). A nested stack's outputs and imports stay opaque: `<Logical.Outputs.Name>`."""

from collections.abc import Callable, Mapping
from typing import Any, Final

from lambda_failure_toolkit.cli.intrinsics import Intrinsics, text

__all__ = ["ACCOUNT", "REGION", "Resolver"]

ACCOUNT: Final = "123456789012"
REGION: Final = "us-east-1"
_NAME_PROPERTY: Final = {
    "AWS::SQS::Queue": "QueueName",
    "AWS::SNS::Topic": "TopicName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::IAM::Role": "RoleName",
    "AWS::IAM::ManagedPolicy": "ManagedPolicyName",
    "AWS::Events::Rule": "Name",
    "AWS::Events::EventBus": "Name",
    "AWS::Kinesis::Stream": "Name",
    "AWS::DynamoDB::Table": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::KMS::Alias": "AliasName",
}


class Resolver(Intrinsics):
    def __init__(self, template: Mapping[str, Any], *, stack_name: str = "stack") -> None:
        self._resources: Mapping[str, Any] = template.get("Resources", {})
        self._parameters = {
            name: declaration.get("Default") for name, declaration in template.get("Parameters", {}).items()
        }
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": "aws",
            "AWS::StackName": stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{stack_name}/0",
            "AWS::URLSuffix": "amazonaws.com",
        }
        self._naming: set[str] = set()

    def name(self, logical_id: str) -> str:
        """The resource's physical name: the one the template gives, else its logical id."""
        body = self._resources[logical_id]
        given = body.get("Properties", {}).get(_NAME_PROPERTY.get(body["Type"], ""))
        if given is None or logical_id in self._naming:
            name = logical_id
            if body["Type"] == "AWS::SQS::Queue" and body.get("Properties", {}).get("FifoQueue"):
                name += ".fifo"
            return name
        self._naming.add(logical_id)
        try:
            return str(self.resolve(given))
        finally:
            self._naming.discard(logical_id)

    def ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            value = self._parameters[name]
            return value if isinstance(value, list) else str(value)
        if name not in self._resources:
            return f"<{name}>"
        kind = self._resources[name]["Type"]
        if kind in {"AWS::SNS::Topic", "AWS::IAM::ManagedPolicy"}:
            return self.get_att(name, "Arn")
        refs = {
            "AWS::SQS::Queue": lambda: f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self.name(name)}",
            "AWS::KMS::Key": lambda: name,
        }
        return refs.get(kind, lambda: self.name(name))()

    def get_att(self, logical_id: str, attribute: str) -> str:
        body = self._resources.get(logical_id)
        if body is None or attribute.startswith("Outputs."):
            return f"<{logical_id}.{attribute}>"
        kind, name = body["Type"], self.name(logical_id)
        arns = {
            "AWS::SQS::Queue": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}",
            "AWS::SNS::Topic": f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::Lambda::Function": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::IAM::Role": f"arn:aws:iam::{ACCOUNT}:role/{name}",
            "AWS::IAM::ManagedPolicy": f"arn:aws:iam::{ACCOUNT}:policy/{name}",
            "AWS::Events::Rule": f"arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}",
            "AWS::Events::EventBus": f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}",
            "AWS::Kinesis::Stream": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}",
            "AWS::DynamoDB::Table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::S3::Bucket": f"arn:aws:s3:::{name}",
            "AWS::Logs::LogGroup": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
            "AWS::KMS::Key": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{logical_id}",
        }
        if attribute in {"Arn", "TopicArn"} and kind in arns:
            return arns[kind]
        if attribute == "StreamArn" and kind == "AWS::DynamoDB::Table":
            return f"{arns[kind]}/stream/template"
        if attribute in {"QueueName", "TopicName", "KeyId"}:
            return logical_id if kind == "AWS::KMS::Key" else name
        if attribute == "QueueUrl":
            return str(self.ref(logical_id))
        return f"<{logical_id}.{attribute}>"

    def uncomputed(self, node: Mapping[str, Any]) -> str:
        return f"<{next(iter(node))}>"

    def functions(self) -> dict[str, Callable[[Any], Any]]:
        return super().functions() | {
            "Fn::Select": lambda argument: _select(*self.resolve(argument)),
            "Fn::Split": lambda argument: _split(*self.resolve(argument)),
            "Fn::FindInMap": self._find_in_map,
            "Fn::GetAZs": lambda _: [f"{REGION}a", f"{REGION}b"],
            "Fn::Base64": self.resolve,
        }

    def _find_in_map(self, argument: Any) -> Any:
        table, key, value = self.resolve(argument)
        return self._mappings.get(table, {}).get(key, {}).get(value, "<map>")


def _select(index: Any, items: Any) -> Any:
    return items[int(index)] if isinstance(items, list) and int(index) < len(items) else "<select>"


def _split(separator: str, value: Any) -> list[str]:
    return text(value).split(separator)

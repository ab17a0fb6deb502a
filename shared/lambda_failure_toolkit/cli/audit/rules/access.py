"""Permissions, both sides: what the execution role may do (send to its own failure path, read its
source, no `*` actions, not shared), who may invoke (scoped service principals), keys the senders may
use, and a VPC function's network interfaces."""

from collections.abc import Iterator
from typing import Final

from lambda_failure_toolkit.cli.audit.finding import Rule, Severity
from lambda_failure_toolkit.cli.audit.model import Function, Model, Statement
from lambda_failure_toolkit.cli.audit.policy import allows, wildcard_actions
from lambda_failure_toolkit.cli.audit.rules.polling import describe

__all__ = ["RULES"]

_SEND: Final = {
    "sqs": "sqs:SendMessage",
    "sns": "sns:Publish",
    "events": "events:PutEvents",
    "lambda": "lambda:InvokeFunction",
    "s3": "s3:PutObject",
}
_READ: Final = {
    "sqs": ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"),
    "kinesis": (
        "kinesis:GetRecords",
        "kinesis:GetShardIterator",
        "kinesis:DescribeStream",
        "kinesis:ListShards",
    ),
    "dynamodb": (
        "dynamodb:GetRecords",
        "dynamodb:GetShardIterator",
        "dynamodb:DescribeStream",
        "dynamodb:ListStreams",
    ),
}
_ENI: Final = ("ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface")
_KMS_SEND: Final = ("kms:GenerateDataKey", "kms:Decrypt")
_AWS_MANAGED_KEYS: Final = ("alias/aws/sqs", "alias/aws/sns")


def _service(arn: str) -> str:
    parts = arn.split(":")
    return parts[2] if len(parts) > 2 and parts[0] == "arn" else ""


def _send_resource(arn: str) -> str:
    return f"{arn}/aws/lambda/object" if _service(arn) == "s3" else arn


def _failure_paths(model: Model) -> Iterator[tuple[Function, str, str]]:
    """(function, where it sends failures, which setting says so)."""
    for function in model.functions.values():
        if function.dead_letter_arn:
            yield function, function.dead_letter_arn, "DeadLetterConfig"
        if function.on_failure_arn:
            yield function, function.on_failure_arn, "EventInvokeConfig OnFailure"
    for mapping in model.mappings:
        polling = model.function(mapping.function_arn)
        if polling is not None and mapping.on_failure_arn:
            yield polling, mapping.on_failure_arn, f"the OnFailure of {describe(mapping)}"


def _statements(model: Model, function: Function) -> tuple[Statement, ...] | None:
    role = model.roles.get(function.role_arn)
    return None if role is None else role.statements


def _cannot_send(model: Model) -> Iterator[tuple[str, str]]:
    for function, destination, setting in _failure_paths(model):
        statements = _statements(model, function)
        action = _SEND.get(_service(destination))
        if statements is not None and action and not allows(statements, action, _send_resource(destination)):
            yield function.role_arn, f"{function.name}'s role lacks {action} on {destination} ({setting})"


def _cannot_read(model: Model) -> Iterator[tuple[str, str]]:
    for mapping in model.mappings:
        function = model.function(mapping.function_arn)
        statements = None if function is None else _statements(model, function)
        if function is None or statements is None:
            continue
        missing = [
            action
            for action in _READ.get(mapping.kind, ())
            if not allows(statements, action, mapping.source_arn)
        ]
        if missing:
            yield (
                function.role_arn,
                f"{function.name}'s role lacks {', '.join(missing)} on {mapping.source_arn}",
            )


def _wildcards(model: Model) -> Iterator[tuple[str, str]]:
    for role in model.roles.values():
        found = wildcard_actions(role.statements)
        if found:
            yield role.arn, f"allows {', '.join(sorted(set(found)))}"


def _shared_roles(model: Model) -> Iterator[tuple[str, str]]:
    users: dict[str, list[str]] = {}
    for function in model.functions.values():
        users.setdefault(function.role_arn, []).append(function.name)
    for role_arn, names in sorted(users.items()):
        if len(names) > 1:
            yield role_arn, f"the role of {', '.join(sorted(names))}"


def _unscoped(model: Model) -> Iterator[tuple[str, str]]:
    for permission in model.permissions:
        principal = permission.principal
        if not principal.endswith(".amazonaws.com"):
            continue
        missing = [] if permission.source_arn else ["SourceArn"]
        if principal == "s3.amazonaws.com" and not permission.source_account:
            missing.append("SourceAccount")
        if missing:
            yield (
                permission.function_arn,
                f"{principal} may invoke it without {' or '.join(missing)} ({permission.sid})",
            )


def _any_principal(model: Model) -> Iterator[tuple[str, str]]:
    for permission in model.permissions:
        if permission.principal == "*":
            yield permission.function_arn, f"statement {permission.sid} allows any principal"


def _encrypted_targets(model: Model) -> Iterator[tuple[str, str, Function | None]]:
    """(target ARN, the service that sends to it or the function whose role does, that function)."""
    for function, destination, _ in _failure_paths(model):
        yield destination, function.name, function
    for subscription in model.subscriptions:
        if subscription.dead_letter_arn:
            yield subscription.dead_letter_arn, "sns.amazonaws.com", None
    for target in model.targets:
        if target.dead_letter_arn:
            yield target.dead_letter_arn, "events.amazonaws.com", None


def _key_refuses(model: Model) -> Iterator[tuple[str, str]]:
    for target_arn, sender, function in _encrypted_targets(model):
        holder = model.queues.get(target_arn) or model.topics.get(target_arn)
        key_ref = getattr(holder, "kms_key", None)
        if not key_ref:
            continue
        if key_ref in _AWS_MANAGED_KEYS:
            if function is None:
                yield target_arn, f"encrypted with {key_ref}, whose policy {sender} may not use"
            continue
        key = model.keys.get(key_ref)
        if key is None:
            continue
        if function is None:
            allowed = [s for s in key.statements if sender in s.principals]
        else:
            role = model.roles.get(function.role_arn)
            via_iam = role is not None and all(
                allows(role.statements, action, key.arn) for action in _KMS_SEND
            )
            trusted = {function.role_arn, "*"} | (
                {model.account, f"arn:aws:iam::{model.account}:root"} if via_iam else set()
            )
            allowed = [s for s in key.statements if trusted & set(s.principals)]
        if not all(allows(allowed, action, key.arn) for action in _KMS_SEND):
            yield target_arn, f"key {key.arn} does not let {sender} use it ({', '.join(_KMS_SEND)})"


def _vpc_without_eni(model: Model) -> Iterator[tuple[str, str]]:
    for function in model.functions.values():
        statements = _statements(model, function)
        if function.in_vpc and statements is not None:
            interface = f"arn:aws:ec2:{model.region}:{model.account}:network-interface/eni-0"
            missing = [
                action
                for action in _ENI
                if not allows(statements, action, "*" if "Describe" in action else interface)
            ]
            if missing:
                yield function.arn, f"in a VPC; its role lacks {', '.join(missing)}"


RULES: Final = (
    Rule(
        "IAM-001",
        Severity.HIGH,
        "an execution role that cannot send to its function's own DLQ or destination",
        "Lambda cannot write the failure there and drops it (DeadLetterErrors, DestinationDeliveryFailures)",
        "      Policies:\n        - SQSSendMessagePolicy: {QueueName: !GetAtt FnDLQ.QueueName}",
        _cannot_send,
    ),
    Rule(
        "IAM-002",
        Severity.HIGH,
        "an execution role that cannot read its function's event source",
        "the mapping cannot poll: nothing is processed, and a stream's records expire unread",
        "      Policies:\n        - SQSPollerPolicy: {QueueName: !GetAtt Queue.QueueName}   # or KinesisStreamReadPolicy, DynamoDBStreamReadPolicy",
        _cannot_read,
    ),
    Rule(
        "IAM-003",
        Severity.MEDIUM,
        "an execution role that grants `*` actions",
        "a compromised or buggy function can do anything the service allows, not just its job",
        "      Policies:\n        - Statement:\n            - Effect: Allow\n              Action: [sqs:SendMessage]\n              Resource: !GetAtt Queue.Arn",
        _wildcards,
    ),
    Rule(
        "IAM-004",
        Severity.LOW,
        "functions sharing one execution role",
        "each gets the other's rights; a permission fixed for one silently changes the other",
        "  # no Role: property: SAM gives each function a role of its own, built from its Policies",
        _shared_roles,
    ),
    Rule(
        "PERM-001",
        Severity.HIGH,
        "a resource-based policy statement for a service without SourceArn (and SourceAccount for S3)",
        "any bucket, topic or rule, of any account, may invoke the function (confused deputy)",
        "  FnPermission:\n    Type: AWS::Lambda::Permission\n    Properties:\n      Action: lambda:InvokeFunction\n"
        "      FunctionName: !Ref Fn\n      Principal: s3.amazonaws.com\n      SourceArn: !GetAtt Bucket.Arn\n"
        "      SourceAccount: !Ref AWS::AccountId",
        _unscoped,
    ),
    Rule(
        "PERM-002",
        Severity.HIGH,
        "a resource-based policy statement with a `*` principal",
        "anyone who knows the function's ARN may invoke it",
        "      Principal: sns.amazonaws.com   # the one service, scoped by SourceArn",
        _any_principal,
    ),
    Rule(
        "KMS-001",
        Severity.HIGH,
        "a DLQ or destination encrypted with a key its sender may not use",
        "the send fails on the key, and the failure it carried is dropped",
        "  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      KeyPolicy:\n        Statement:\n"
        "          - Effect: Allow\n            Principal: {Service: [sns.amazonaws.com, events.amazonaws.com]}\n"
        "            Action: [kms:GenerateDataKey, kms:Decrypt]\n            Resource: '*'",
        _key_refuses,
    ),
    Rule(
        "VPC-001",
        Severity.HIGH,
        "a function in a VPC whose role lacks the network-interface permissions",
        "Lambda cannot create its network interfaces: every invocation fails, and async events go to retries",
        "      Policies:\n        - VPCAccessPolicy: {}   # or the managed AWSLambdaVPCAccessExecutionRole",
        _vpc_without_eni,
    ),
)

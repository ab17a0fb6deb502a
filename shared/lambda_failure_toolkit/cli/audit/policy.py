"""IAM policy documents as `Statement`s, and whether statements allow an action on a resource.

Enough of IAM's evaluation for the audit: an explicit Deny wins, `*` and `?` match as IAM matches them,
actions case-insensitively; identity-policy conditions are not evaluated (they can only narrow).
"""

from collections.abc import Iterable, Mapping
from fnmatch import fnmatchcase
from typing import Any, Final

from lambda_failure_toolkit.cli.audit.model import Statement

__all__ = ["AWS_MANAGED", "allows", "statements_of", "wildcard_actions"]

_LOGS: Final = ("logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents")
_ENI: Final = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
AWS_MANAGED: Final[Mapping[str, tuple[Statement, ...]]] = {
    name: (Statement("Allow", actions),)
    for name, actions in {
        "AWSLambdaBasicExecutionRole": _LOGS,
        "AWSLambdaVPCAccessExecutionRole": (*_LOGS, *_ENI),
        "AWSLambdaSQSQueueExecutionRole": (
            *_LOGS,
            "sqs:ReceiveMessage",
            "sqs:DeleteMessage",
            "sqs:GetQueueAttributes",
        ),
        "AWSLambdaKinesisExecutionRole": (
            *_LOGS,
            "kinesis:DescribeStream",
            "kinesis:DescribeStreamSummary",
            "kinesis:GetRecords",
            "kinesis:GetShardIterator",
            "kinesis:ListShards",
            "kinesis:ListStreams",
            "kinesis:SubscribeToShard",
        ),
        "AWSLambdaDynamoDBExecutionRole": (
            *_LOGS,
            "dynamodb:DescribeStream",
            "dynamodb:GetRecords",
            "dynamodb:GetShardIterator",
            "dynamodb:ListStreams",
        ),
        "AWSXRayDaemonWriteAccess": ("xray:PutTraceSegments", "xray:PutTelemetryRecords"),
        "AWSLambdaRole": ("lambda:InvokeFunction",),
    }.items()
}
"""What the AWS managed policies a SAM template names allow (a template cannot say; a live account is
asked instead). Their ARNs end in the name, under `policy/` or `policy/service-role/`."""


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, list):
        return tuple(str(item) for item in value)
    return (str(value),)


def _principals(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if value == "*":
        return ("*",)
    if isinstance(value, Mapping):
        return tuple(item for kind in ("AWS", "Service", "Federated") for item in _strings(value.get(kind)))
    return _strings(value)


def statements_of(document: Any) -> tuple[Statement, ...]:
    """A policy document's statements (a document may hold one statement instead of a list)."""
    if not isinstance(document, Mapping):
        return ()
    raw = document.get("Statement", [])
    items = raw if isinstance(raw, list) else [raw]
    return tuple(
        Statement(
            effect=str(item.get("Effect", "Allow")),
            actions=_strings(item.get("Action", item.get("NotAction"))),
            resources=_strings(item.get("Resource", "*")) or ("*",),
            principals=_principals(item.get("Principal")),
            conditions=item.get("Condition") or {},
            not_actions="NotAction" in item,
        )
        for item in items
        if isinstance(item, Mapping)
    )


def _action_matches(statement: Statement, action: str) -> bool:
    matched = any(fnmatchcase(action.lower(), pattern.lower()) for pattern in statement.actions)
    return matched != statement.not_actions


def _resource_matches(statement: Statement, resource: str) -> bool:
    return any(fnmatchcase(resource, pattern) for pattern in statement.resources)


def allows(statements: Iterable[Statement], action: str, resource: str) -> bool:
    """Whether the statements allow `action` on `resource` (an explicit Deny wins)."""
    relevant = [
        statement
        for statement in statements
        if _action_matches(statement, action) and _resource_matches(statement, resource)
    ]
    return any(item.effect == "Allow" for item in relevant) and not any(
        item.effect == "Deny" for item in relevant
    )


def wildcard_actions(statements: Iterable[Statement]) -> list[str]:
    """The `*` or `service:*` actions the statements allow."""
    return [
        action
        for statement in statements
        if statement.effect == "Allow" and not statement.not_actions
        for action in statement.actions
        if action == "*" or action.endswith(":*")
    ]

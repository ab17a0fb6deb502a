"""Async invocation and the first hop: a function invoked asynchronously with nowhere to put a failed
event, an EventBridge target or SNS subscription with no DLQ."""

from collections.abc import Iterator
from typing import Final

from lambda_failure_toolkit.cli.audit.finding import Rule, Severity
from lambda_failure_toolkit.cli.audit.model import Function, Model

__all__ = ["RULES", "async_invokers"]

_ASYNC_PRINCIPALS: Final = frozenset(
    {"s3.amazonaws.com", "sns.amazonaws.com", "events.amazonaws.com", "logs.amazonaws.com"}
)


def async_invokers(model: Model, function: Function) -> list[str]:
    """What invokes the function asynchronously: SNS, EventBridge, S3 (by its resource policy), or an
    EventInvokeConfig saying it is meant to be."""
    invokers = [
        f"SNS {subscription.topic_arn}"
        for subscription in model.subscriptions
        if subscription.protocol == "lambda" and model.function(subscription.endpoint) is function
    ]
    invokers += [
        f"EventBridge {target.rule_arn}"
        for target in model.targets
        if model.function(target.target_arn) is function
    ]
    invokers += [
        permission.principal
        for permission in model.permissions
        if permission.function_arn == function.arn and permission.principal in _ASYNC_PRINCIPALS
    ]
    if function.has_invoke_config:
        invokers.append("EventInvokeConfig")
    return invokers


def _has_failure_path(function: Function) -> bool:
    return bool(function.on_failure_arn or function.dead_letter_arn)


def _subscription_dlq(model: Model, function: Function) -> bool:
    return any(
        subscription.dead_letter_arn and model.function(subscription.endpoint) is function
        for subscription in model.subscriptions
    )


def _async_without_failure_path(model: Model) -> Iterator[tuple[str, str]]:
    for function in model.functions.values():
        invokers = async_invokers(model, function)
        # SNS-002 says it more precisely when a subscription DLQ looks like the failure path.
        if invokers and not _has_failure_path(function) and not _subscription_dlq(model, function):
            yield function.arn, f"invoked asynchronously by {', '.join(sorted(set(invokers)))}"


def _async_defaults(model: Model) -> Iterator[tuple[str, str]]:
    for function in model.functions.values():
        if not async_invokers(model, function):
            continue
        left = [
            name
            for name, value in (
                ("MaximumRetryAttempts (2)", function.max_retry_attempts),
                ("MaximumEventAgeInSeconds (21600)", function.max_event_age_s),
            )
            if value is None
        ]
        if left:
            yield function.arn, f"left at the default: {', '.join(left)}"


def _targets_without_dlq(model: Model) -> Iterator[tuple[str, str]]:
    for target in model.targets:
        function = model.function(target.target_arn)
        if function is not None and not target.dead_letter_arn:
            yield (
                f"{target.rule_arn} target {target.target_id}",
                f"invokes {function.name} with no DeadLetterConfig",
            )


def _subscriptions_without_dlq(model: Model) -> Iterator[tuple[str, str]]:
    for subscription in model.subscriptions:
        if subscription.protocol == "lambda" and not subscription.dead_letter_arn:
            yield f"{subscription.topic_arn} -> {subscription.endpoint}", "no RedrivePolicy"


def _subscription_dlq_only(model: Model) -> Iterator[tuple[str, str]]:
    for subscription in model.subscriptions:
        function = model.function(subscription.endpoint) if subscription.protocol == "lambda" else None
        if function is not None and subscription.dead_letter_arn and not _has_failure_path(function):
            yield (
                function.arn,
                (
                    f"only the subscription from {subscription.topic_arn} has a DLQ; the function has neither "
                    "an OnFailure destination nor a DLQ"
                ),
            )


_ON_FAILURE = """\
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt FnDLQ.Arn}   # or:
      EventInvokeConfig:
        MaximumRetryAttempts: 2
        MaximumEventAgeInSeconds: 3600
        DestinationConfig:
          OnFailure: {Type: SQS, Destination: !GetAtt FnFailures.Arn}"""

RULES: Final = (
    Rule(
        "ASYNC-001",
        Severity.HIGH,
        "an async function (SNS, EventBridge, S3 or EventInvokeConfig) with no OnFailure destination and no DLQ",
        "after its retries (2 by default) or its event age (6 h) an event that failed is dropped: nothing keeps it",
        _ON_FAILURE,
        _async_without_failure_path,
    ),
    Rule(
        "ASYNC-002",
        Severity.INFO,
        "an async function whose retries or event age are left at the defaults (2, 6 h)",
        "a failing event is retried for up to 6 hours; an event older than the business cares for is late, not lost",
        "      EventInvokeConfig:\n        MaximumRetryAttempts: 2\n        MaximumEventAgeInSeconds: 3600",
        _async_defaults,
    ),
    Rule(
        "EVENTS-001",
        Severity.HIGH,
        "an EventBridge rule target that invokes a function with no DLQ",
        "an event EventBridge cannot deliver (no permission, throttled for 24 h, function deleted) is dropped",
        "      Events:\n        Rule:\n          Type: EventBridgeRule\n          Properties:\n"
        "            Pattern: {source: [my.app]}\n            DeadLetterConfig: {Arn: !GetAtt RuleDLQ.Arn}\n"
        "            RetryPolicy: {MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400}",
        _targets_without_dlq,
    ),
    Rule(
        "SNS-001",
        Severity.HIGH,
        "an SNS subscription that invokes a function with no DLQ (RedrivePolicy)",
        "a message SNS cannot deliver after its delivery policy's retries is dropped",
        "      Events:\n        Topic:\n          Type: SNS\n          Properties:\n            Topic: !Ref Topic\n"
        "            RedrivePolicy: {deadLetterTargetArn: !GetAtt SubscriptionDLQ.Arn}",
        _subscriptions_without_dlq,
    ),
    Rule(
        "SNS-002",
        Severity.HIGH,
        "a function whose SNS subscription has a DLQ while the function itself has none",
        "the subscription DLQ only keeps what SNS could not deliver; an error inside the function, after "
        "Lambda's retries, is dropped",
        _ON_FAILURE,
        _subscription_dlq_only,
    ),
)

"""The model from a live account: read-only List/Get/Describe calls with the operator's credentials, for
every function of the region or those of one stack (`--stack-name`, nested stacks included)."""

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from lambda_failure_toolkit.cli.audit.model import (
    Function,
    Key,
    Mapping_,
    Model,
    Permission,
    Queue,
    Role,
    RuleTarget,
    Statement,
    Subscription,
    Topic,
)
from lambda_failure_toolkit.cli.audit.policy import statements_of
from lambda_failure_toolkit.cli.audit.template_reader import mapping_kind
from lambda_failure_toolkit.retry import error_code

__all__ = ["read_account"]

_NOT_FOUND = frozenset(
    {
        "ResourceNotFoundException",
        "NoSuchEntity",
        "AWS.SimpleQueueService.NonExistentQueue",
        "NotFound",
        "NotFoundException",
    }
)


def _pages(client: Any, operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**kwargs):
        yield from page.get(key, [])


def _or_none(call: Any, **kwargs: Any) -> Any:
    """The call's answer, or None when what it asks about does not exist (no policy, no config)."""
    try:
        return call(**kwargs)
    except ClientError as exc:
        if error_code(exc) in _NOT_FOUND:
            return None
        raise


def _stack_resources(cloudformation: Any, stack: str) -> list[tuple[str, str]]:
    """(type, physical id) of the stack's resources and its nested stacks'."""
    found: list[tuple[str, str]] = []
    for resource in _pages(cloudformation, "list_stack_resources", "StackResourceSummaries", StackName=stack):
        if resource["ResourceType"] == "AWS::CloudFormation::Stack":
            found.extend(_stack_resources(cloudformation, resource["PhysicalResourceId"]))
        found.append((resource["ResourceType"], resource.get("PhysicalResourceId", "")))
    return found


def read_account(session: Any, *, endpoint_url: str | None, stack_name: str | None) -> Model:
    """`session` is a boto3 Session; `stack_name` limits the functions, rules, topics and queues read."""

    def client(name: str) -> Any:
        return session.client(name, endpoint_url=endpoint_url)

    account = client("sts").get_caller_identity()["Account"]
    model = Model(account=account, region=session.region_name)
    in_stack = None if stack_name is None else _stack_resources(client("cloudformation"), stack_name)

    def wanted(kind: str, physical: str, *aliases: str) -> bool:
        return in_stack is None or any(
            kind == stack_kind and stack_id in {physical, *aliases} for stack_kind, stack_id in in_stack
        )

    _functions(model, client("lambda"), wanted)
    _roles(model, client("iam"))
    _queues(model, client("sqs"), wanted, {m.source_arn for m in model.mappings})
    _topics(model, client("sns"), wanted)
    _rules(model, client("events"), wanted)
    _keys(model, client("kms"))
    return model


def _functions(model: Model, lambda_: Any, wanted: Any) -> None:
    for listed in _pages(lambda_, "list_functions", "Functions"):
        name, arn = listed["FunctionName"], listed["FunctionArn"]
        if not wanted("AWS::Lambda::Function", name, arn):
            continue
        # The whole configuration: a listing may leave settings out (an emulator's leaves the DLQ).
        config = lambda_.get_function_configuration(FunctionName=name)
        invoke = _invoke_config(lambda_, name, arn)
        on_failure = invoke.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        model.functions[arn] = Function(
            arn=arn,
            name=name,
            role_arn=config["Role"],
            timeout_s=int(config.get("Timeout", 3)),
            dead_letter_arn=config.get("DeadLetterConfig", {}).get("TargetArn"),
            on_failure_arn=on_failure,
            has_invoke_config=bool(invoke),
            max_retry_attempts=invoke.get("MaximumRetryAttempts"),
            max_event_age_s=invoke.get("MaximumEventAgeInSeconds"),
            in_vpc=bool(config.get("VpcConfig", {}).get("SubnetIds")),
        )
        for mapping in _pages(
            lambda_, "list_event_source_mappings", "EventSourceMappings", FunctionName=name
        ):
            source = mapping.get("EventSourceArn", "")
            model.mappings.append(
                Mapping_(
                    id=mapping["UUID"],
                    function_arn=arn,
                    source_arn=source,
                    kind=mapping_kind(source, "SelfManagedEventSource" in mapping),
                    on_failure_arn=mapping.get("DestinationConfig", {})
                    .get("OnFailure", {})
                    .get("Destination"),
                    max_retry_attempts=mapping.get("MaximumRetryAttempts"),
                    max_record_age_s=mapping.get("MaximumRecordAgeInSeconds"),
                    bisect=bool(mapping.get("BisectBatchOnFunctionError", False)),
                    report_batch_item_failures="ReportBatchItemFailures"
                    in (mapping.get("FunctionResponseTypes") or []),
                )
            )
        policy = _or_none(lambda_.get_policy, FunctionName=name)
        for statement in json.loads(policy["Policy"])["Statement"] if policy else []:
            principal = statement.get("Principal", {})
            condition = statement.get("Condition", {})
            model.permissions.append(
                Permission(
                    function_arn=arn,
                    sid=statement.get("Sid", ""),
                    principal=principal
                    if isinstance(principal, str)
                    else str(next(iter(principal.values()), "")),
                    source_arn=condition.get("ArnLike", {}).get("AWS:SourceArn"),
                    source_account=condition.get("StringEquals", {}).get("AWS:SourceAccount"),
                )
            )


def _invoke_config(lambda_: Any, name: str, arn: str) -> dict[str, Any]:
    """The configuration for an unqualified invoke: the function's own, or its `$LATEST`'s (SAM's)."""
    listed = _or_none(lambda_.list_function_event_invoke_configs, FunctionName=name) or {}
    for config in listed.get("FunctionEventInvokeConfigs", []):
        if config.get("FunctionArn") in {arn, f"{arn}:$LATEST"}:
            return dict(config)
    return {}


def _roles(model: Model, iam: Any) -> None:
    for role_arn in {function.role_arn for function in model.functions.values()}:
        name = role_arn.rsplit("/", 1)[-1]
        statements: list[Statement] = []
        for policy_name in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name):
            document = iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
            statements.extend(statements_of(_document(document)))
        for attached in _pages(iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name):
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(
                PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"]
            )
            statements.extend(statements_of(_document(version["PolicyVersion"]["Document"])))
        model.roles[role_arn] = Role(role_arn, tuple(statements))


def _document(document: Any) -> Any:
    """IAM returns documents as objects through boto3, URL-encoded JSON text in some emulators."""
    if isinstance(document, str):
        from urllib.parse import unquote  # noqa: PLC0415 -- only for that case

        return json.loads(unquote(document))
    return document


def _queues(model: Model, sqs: Any, wanted: Any, sources: set[str]) -> None:
    for url in _pages(sqs, "list_queues", "QueueUrls"):
        attributes = _or_none(sqs.get_queue_attributes, QueueUrl=url, AttributeNames=["All"])
        if attributes is None:
            continue
        attributes = attributes["Attributes"]
        arn = attributes["QueueArn"]
        if not (wanted("AWS::SQS::Queue", url, arn) or arn in sources):
            continue
        redrive = json.loads(attributes.get("RedrivePolicy", "{}"))
        model.queues[arn] = Queue(
            arn=arn,
            visibility_timeout_s=int(attributes.get("VisibilityTimeout", 30)),
            retention_s=int(attributes.get("MessageRetentionPeriod", 345600)),
            dead_letter_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=int(redrive["maxReceiveCount"]) if "maxReceiveCount" in redrive else None,
            kms_key=attributes.get("KmsMasterKeyId"),
            fifo=attributes.get("FifoQueue") == "true",
            statements=statements_of(json.loads(attributes.get("Policy", "{}"))),
        )


def _topics(model: Model, sns: Any, wanted: Any) -> None:
    for topic in _pages(sns, "list_topics", "Topics"):
        arn = topic["TopicArn"]
        if not wanted("AWS::SNS::Topic", arn):
            continue
        attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
        model.topics[arn] = Topic(arn, attributes.get("KmsMasterKeyId"))
        for subscription in _pages(sns, "list_subscriptions_by_topic", "Subscriptions", TopicArn=arn):
            sub_arn = subscription["SubscriptionArn"]
            details = _or_none(sns.get_subscription_attributes, SubscriptionArn=sub_arn) or {}
            redrive = json.loads(details.get("Attributes", {}).get("RedrivePolicy", "{}") or "{}")
            model.subscriptions.append(
                Subscription(
                    sub_arn,
                    arn,
                    subscription["Protocol"],
                    subscription["Endpoint"],
                    redrive.get("deadLetterTargetArn"),
                )
            )


def _rules(model: Model, events: Any, wanted: Any) -> None:
    for rule in _pages(events, "list_rules", "Rules"):
        if not wanted("AWS::Events::Rule", rule["Name"], rule["Arn"]):
            continue
        for target in _pages(events, "list_targets_by_rule", "Targets", Rule=rule["Name"]):
            model.targets.append(
                RuleTarget(
                    rule["Arn"], target["Id"], target["Arn"], target.get("DeadLetterConfig", {}).get("Arn")
                )
            )


def _keys(model: Model, kms: Any) -> None:
    """The keys that encrypt a queue or topic read, by ARN (their references may be ids or aliases)."""
    for arn, queue in model.queues.items():
        model.queues[arn] = dataclasses.replace(queue, kms_key=_key_arn(model, kms, queue.kms_key))
    for arn, topic in model.topics.items():
        model.topics[arn] = dataclasses.replace(topic, kms_key=_key_arn(model, kms, topic.kms_key))


def _key_arn(model: Model, kms: Any, reference: str | None) -> str | None:
    if not reference or reference.startswith("alias/aws/"):
        return reference
    described = _or_none(kms.describe_key, KeyId=reference)
    if described is None:
        return reference
    key_arn: str = described["KeyMetadata"]["Arn"]
    if key_arn not in model.keys:
        policy = kms.get_key_policy(KeyId=key_arn, PolicyName="default")["Policy"]
        model.keys[key_arn] = Key(key_arn, statements_of(json.loads(policy)))
    return key_arn

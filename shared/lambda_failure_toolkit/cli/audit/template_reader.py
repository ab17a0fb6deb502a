"""The model from a SAM or CloudFormation template: transformed (SAM), rendered for the parameter values
given (conditions evaluated), then every reference computed in a placeholder account (`resolve`)."""

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
from lambda_failure_toolkit.cli.audit.policy import AWS_MANAGED, statements_of
from lambda_failure_toolkit.cli.audit.render import Renderer
from lambda_failure_toolkit.cli.audit.resolve import ACCOUNT, REGION, Resolver

__all__ = ["mapping_kind", "model_of", "read_template", "resolved_resources"]


def read_template(path: Path, parameters: Mapping[str, str]) -> Model:
    """The model of the template at `path` (`TransformError`, `RenderError` when it cannot be read)."""
    from lambda_failure_toolkit.cli.audit.transform import parse, transformed  # noqa: PLC0415 -- optional

    return model_of(resolved_resources(transformed(parse(path)), parameters))


def resolved_resources(template: dict[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """The resources CloudFormation would create, every intrinsic function computed."""
    rendered = Renderer(template, dict(parameters), resolve_parameters=True).rendered()
    resolver = Resolver(rendered)
    return {
        logical_id: {"Type": body["Type"], "Properties": resolver.resolve(body.get("Properties", {}))}
        | {"Arn": resolver.get_att(logical_id, "Arn"), "Ref": resolver.ref(logical_id)}
        for logical_id, body in rendered["Resources"].items()
    }


def mapping_kind(source_arn: str, self_managed: bool = False) -> str:
    if self_managed or ":kafka:" in source_arn:
        return "kafka"
    service = source_arn.split(":")[2] if source_arn.count(":") >= 2 else ""
    return service if service in {"sqs", "kinesis", "dynamodb"} else "other"


def _of(resources: dict[str, Any], kind: str) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [
        (logical_id, body, body["Properties"])
        for logical_id, body in resources.items()
        if body["Type"] == kind
    ]


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _on_failure(properties: Mapping[str, Any]) -> str | None:
    destination = properties.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
    return str(destination) if destination else None


def _int(value: Any) -> int | None:
    return None if value is None else int(value)


def model_of(resources: dict[str, Any]) -> Model:
    model = Model(account=ACCOUNT, region=REGION)
    by_ref = {str(body["Ref"]): body["Arn"] for body in resources.values()}
    _keys(model, resources)
    _roles(model, resources)
    for _, body, properties in _of(resources, "AWS::Lambda::Function"):
        vpc = properties.get("VpcConfig") or {}
        model.functions[body["Arn"]] = Function(
            arn=body["Arn"],
            name=str(body["Ref"]),
            role_arn=str(properties.get("Role", "")),
            timeout_s=int(properties.get("Timeout", 3)),
            dead_letter_arn=(properties.get("DeadLetterConfig") or {}).get("TargetArn"),
            in_vpc=bool(vpc.get("SubnetIds")),
        )
    for _, _, properties in _of(resources, "AWS::Lambda::EventInvokeConfig"):
        function = model.function(str(properties["FunctionName"]))
        if function is not None:
            model.functions[function.arn] = dataclasses.replace(
                function,
                has_invoke_config=True,
                on_failure_arn=_on_failure(properties),
                max_retry_attempts=_int(properties.get("MaximumRetryAttempts")),
                max_event_age_s=_int(properties.get("MaximumEventAgeInSeconds")),
            )
    for logical_id, _, properties in _of(resources, "AWS::Lambda::EventSourceMapping"):
        source = str(properties.get("EventSourceArn", ""))
        function = model.function(str(properties["FunctionName"]))
        model.mappings.append(
            Mapping_(
                id=logical_id,
                function_arn=function.arn if function else str(properties["FunctionName"]),
                source_arn=source,
                kind=mapping_kind(source, "SelfManagedEventSource" in properties),
                on_failure_arn=_on_failure(properties),
                max_retry_attempts=_int(properties.get("MaximumRetryAttempts")),
                max_record_age_s=_int(properties.get("MaximumRecordAgeInSeconds")),
                bisect=bool(properties.get("BisectBatchOnFunctionError", False)),
                report_batch_item_failures="ReportBatchItemFailures"
                in properties.get("FunctionResponseTypes", []),
            )
        )
    _queues(model, resources, by_ref)
    _topics(model, resources)
    for _, body, properties in _of(resources, "AWS::Events::Rule"):
        for target in properties.get("Targets", []):
            model.targets.append(
                RuleTarget(
                    rule_arn=body["Arn"],
                    target_id=str(target.get("Id", "")),
                    target_arn=str(target.get("Arn", "")),
                    dead_letter_arn=(target.get("DeadLetterConfig") or {}).get("Arn"),
                )
            )
    for logical_id, _, properties in _of(resources, "AWS::Lambda::Permission"):
        function = model.function(str(properties["FunctionName"]))
        model.permissions.append(
            Permission(
                function_arn=function.arn if function else str(properties["FunctionName"]),
                sid=logical_id,
                principal=str(properties.get("Principal", "")),
                source_arn=properties.get("SourceArn"),
                source_account=properties.get("SourceAccount"),
            )
        )
    return model


def _keys(model: Model, resources: dict[str, Any]) -> None:
    for _, body, properties in _of(resources, "AWS::KMS::Key"):
        model.keys[body["Arn"]] = Key(body["Arn"], statements_of(properties.get("KeyPolicy")))


def _key_arn(model: Model, resources: dict[str, Any], reference: Any) -> str | None:
    if not reference:
        return None
    for _, _, properties in _of(resources, "AWS::KMS::Alias"):
        if properties.get("AliasName") == reference:
            reference = properties.get("TargetKeyId")
    for arn in model.keys:
        if reference in {arn, arn.rsplit("/", 1)[-1]}:
            return arn
    return str(reference)


def _roles(model: Model, resources: dict[str, Any]) -> None:
    documents = {
        body["Arn"]: properties.get("PolicyDocument")
        for _, body, properties in _of(resources, "AWS::IAM::ManagedPolicy")
    }
    attached: dict[str, list[Statement]] = {}
    for kind in ("AWS::IAM::ManagedPolicy", "AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
        for _, _, properties in _of(resources, kind):
            roles = properties.get("Roles") or ([properties["RoleName"]] if "RoleName" in properties else [])
            for role in roles:
                attached.setdefault(str(role), []).extend(statements_of(properties.get("PolicyDocument")))
    for _, body, properties in _of(resources, "AWS::IAM::Role"):
        statements = [*attached.get(str(body["Ref"]), [])]
        for policy in properties.get("Policies", []):
            statements.extend(statements_of(policy.get("PolicyDocument")))
        for arn in properties.get("ManagedPolicyArns", []):
            if arn in documents:
                statements.extend(statements_of(documents[arn]))
            else:
                statements.extend(AWS_MANAGED.get(str(arn).rsplit("/", 1)[-1], ()))
        model.roles[body["Arn"]] = Role(body["Arn"], tuple(statements))


def _queues(model: Model, resources: dict[str, Any], by_ref: Mapping[str, str]) -> None:
    policies: dict[str, list[Statement]] = {}
    for _, _, properties in _of(resources, "AWS::SQS::QueuePolicy"):
        for url in properties.get("Queues", []):
            policies.setdefault(by_ref.get(str(url), str(url)), []).extend(
                statements_of(properties.get("PolicyDocument"))
            )
    for _, body, properties in _of(resources, "AWS::SQS::Queue"):
        redrive = _json(properties.get("RedrivePolicy")) or {}
        model.queues[body["Arn"]] = Queue(
            arn=body["Arn"],
            visibility_timeout_s=int(properties.get("VisibilityTimeout", 30)),
            retention_s=int(properties.get("MessageRetentionPeriod", 345600)),
            dead_letter_arn=redrive.get("deadLetterTargetArn"),
            max_receive_count=_int(redrive.get("maxReceiveCount")),
            kms_key=_key_arn(model, resources, properties.get("KmsMasterKeyId")),
            fifo=bool(properties.get("FifoQueue", False)),
            statements=tuple(policies.get(body["Arn"], ())),
        )


def _topics(model: Model, resources: dict[str, Any]) -> None:
    for _, body, properties in _of(resources, "AWS::SNS::Topic"):
        model.topics[body["Arn"]] = Topic(
            body["Arn"], _key_arn(model, resources, properties.get("KmsMasterKeyId"))
        )
        for index, inline in enumerate(properties.get("Subscription", [])):
            model.subscriptions.append(
                Subscription(
                    f"{body['Arn']}:inline-{index}", body["Arn"], inline["Protocol"], inline["Endpoint"]
                )
            )
    for logical_id, _, properties in _of(resources, "AWS::SNS::Subscription"):
        redrive = _json(properties.get("RedrivePolicy")) or {}
        model.subscriptions.append(
            Subscription(
                arn=logical_id,
                topic_arn=str(properties["TopicArn"]),
                protocol=str(properties["Protocol"]),
                endpoint=str(properties.get("Endpoint", "")),
                dead_letter_arn=redrive.get("deadLetterTargetArn"),
            )
        )

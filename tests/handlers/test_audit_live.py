"""`dlq audit`'s live path against moto: each test template's resources created in the account, then
read back with List/Get/Describe calls, give the findings the template gives."""

from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_failure_toolkit.cli.audit.live_reader import read_account
from lambda_failure_toolkit.cli.audit.rules import RULES, audit
from lambda_failure_toolkit.cli.audit.template_reader import read_template
from tests.audit_deploy import REGION, deploy
from tests.audit_support import BAD, GOOD

_NOT_IN_MOTO = {"KAFKA-001"}
"""moto refuses an MSK mapping; the rule is the template's test alone."""


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Any:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield boto3.Session(region_name=REGION)


def _findings(model: Any) -> list[tuple[str, str]]:
    return [(finding.rule.id, finding.resource) for finding in audit(model)]


@pytest.mark.parametrize(
    "path",
    [GOOD, *(BAD / f"{rule.id}.yaml" for rule in RULES if rule.id not in _NOT_IN_MOTO)],
    ids=lambda path: path.stem,
)
def test_the_account_gives_the_templates_findings(account: Any, path: Path) -> None:
    # Given the template's resources in the account
    deploy(path)
    # When the account is audited
    live = _findings(read_account(account, endpoint_url=None, stack_name=None))
    # Then it finds what the template's audit finds, no more
    assert live == _findings(read_template(path, {}))


def test_a_functions_dlq_is_read_from_its_configuration(account: Any) -> None:
    # Given a function whose role may not send to the DLQ its configuration names (moto keeps no
    # DeadLetterConfig: botocore's after-call hook puts it in the answer, as Lambda gives it)
    deploy(BAD / "VPC-001.yaml")
    dlq = "arn:aws:sqs:us-east-1:123456789012:FnDLQ"

    def with_dlq(parsed: dict[str, Any], **_: Any) -> None:
        parsed["DeadLetterConfig"] = {"TargetArn": dlq}
        parsed["VpcConfig"] = {}

    account.events.register("after-call.lambda.GetFunctionConfiguration", with_dlq)
    # When the account is audited
    findings = audit(read_account(account, endpoint_url=None, stack_name=None))
    # Then the role's missing sqs:SendMessage is found
    assert [(finding.rule.id, finding.detail) for finding in findings] == [
        ("IAM-001", f"Fn's role lacks sqs:SendMessage on {dlq} (DeadLetterConfig)")
    ]


def test_an_invoke_config_for_latest_is_the_functions(account: Any) -> None:
    # Given an async function whose EventInvokeConfig is qualified $LATEST, as SAM writes it (an
    # unqualified GetFunctionEventInvokeConfig then finds none on ministack): the listing says so
    deploy(BAD / "ASYNC-001.yaml")

    def qualified(parsed: dict[str, Any], **_: Any) -> None:
        for config in parsed["FunctionEventInvokeConfigs"]:
            config["FunctionArn"] += ":$LATEST"
            config["DestinationConfig"] = {
                "OnFailure": {"Destination": "arn:aws:sqs:us-east-1:123456789012:f"}
            }

    account.events.register("after-call.lambda.ListFunctionEventInvokeConfigs", qualified)
    # When the account is audited, Then its OnFailure destination counts: no ASYNC-001
    model = read_account(account, endpoint_url=None, stack_name=None)
    [function] = model.functions.values()
    assert function.on_failure_arn == "arn:aws:sqs:us-east-1:123456789012:f"
    assert "ASYNC-001" not in {finding.rule.id for finding in audit(model)}

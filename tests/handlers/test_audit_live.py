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

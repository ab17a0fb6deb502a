"""`dlq audit` on an account (moto): the findings, a stack's resources only, and exit 2 for what the
operator must fix (credentials, a stack that does not exist)."""

import json
from io import StringIO
from typing import Any

import boto3
import pytest
from moto import mock_aws

from lambda_failure_toolkit.cli.dlq import main
from tests.audit_deploy import REGION, deploy
from tests.audit_support import BAD


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(["audit", "--region", REGION, *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_an_account_with_a_high_finding_exits_1_and_json_names_it(account: Any) -> None:
    # Given an account whose subscription to a function has no DLQ
    deploy(BAD / "SNS-001.yaml")
    # When it is audited
    code, out, err = _run("--json")
    # Then the finding is there, and the run fails
    assert (code, err) == (1, "")
    assert [finding["rule"] for finding in json.loads(out)] == ["SNS-001"]


def test_a_stack_limits_the_audit_to_its_resources(account: Any) -> None:
    # Given a queue that moves messages too soon (low), outside any stack, and a stack holding only a topic
    deploy(BAD / "SQS-004.yaml")
    template = {"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}}
    boto3.client("cloudformation", region_name=REGION).create_stack(
        StackName="other", TemplateBody=json.dumps(template)
    )
    # Then the account has the finding, and the stack none
    assert _run()[0] == 0
    assert _run("--fail-on", "low")[0] == 1
    assert _run("--stack-name", "other", "--fail-on", "info") == (0, "dlq audit: no finding\n", "")


def test_a_stack_that_does_not_exist_is_bad_input(account: Any) -> None:
    code, out, err = _run("--stack-name", "nowhere")
    assert (code, out) == (2, "")
    assert err.startswith("dlq audit: no stack 'nowhere' in this region")
    assert err.count("\n") == 1


def test_no_credentials_is_bad_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    # Given no credentials anywhere boto3 looks
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # When the account is audited, Then one line says what to do, exit 2
    code, out, err = _run()
    assert (code, out) == (2, "")
    assert err.startswith("dlq audit: no AWS credentials found")

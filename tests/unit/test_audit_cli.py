"""`dlq audit --template`: the table, --json, and the exit codes (0, 1 at or above --fail-on, 2 bad input)."""

import json
import sys
from io import StringIO
from pathlib import Path

import pytest

from lambda_failure_toolkit.cli import audit as audit_package
from lambda_failure_toolkit.cli.dlq import main
from tests.audit_support import BAD, GOOD


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    code = main(["audit", *argv], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_high_finding_fails_by_default_and_the_table_names_rule_resource_and_fix() -> None:
    # Given a template whose function has an unscoped S3 permission (PERM-001, high)
    # When it is audited
    code, out, err = _run("--template", str(BAD / "PERM-001.yaml"))
    # Then the run fails, the table shows the finding and the fix is a SAM snippet
    assert (code, err) == (1, "")
    [row] = [line for line in out.splitlines() if "PERM-001" in line and "high" in line]
    assert row.split()[:3] == ["high", "PERM-001", "arn:aws:lambda:us-east-1:123456789012:function:Fn"]
    assert "SourceAccount: !Ref AWS::AccountId" in out


def test_fail_on_sets_the_threshold() -> None:
    # Given a low finding (SQS-004): below the default threshold, at or above low
    assert _run("--template", str(BAD / "SQS-004.yaml"))[0] == 0
    assert _run("--template", str(BAD / "SQS-004.yaml"), "--fail-on", "low")[0] == 1
    # An informational finding fails only --fail-on info
    assert _run("--template", str(BAD / "ASYNC-002.yaml"), "--fail-on", "low")[0] == 0
    assert _run("--template", str(BAD / "ASYNC-002.yaml"), "--fail-on", "info")[0] == 1


def test_json_gives_each_finding_whole() -> None:
    code, out, _ = _run("--template", str(BAD / "SNS-001.yaml"), "--json")
    [finding] = json.loads(out)
    assert code == 1
    assert finding["rule"] == "SNS-001"
    assert finding["severity"] == "high"
    assert finding["resource"].endswith(":Topic -> arn:aws:lambda:us-east-1:123456789012:function:Fn")
    assert set(finding) == {"rule", "severity", "resource", "detail", "why", "fix"}


def test_a_clean_template_says_so_and_exits_0() -> None:
    assert _run("--template", str(GOOD)) == (0, "dlq audit: no finding\n", "")
    assert _run("--template", str(GOOD), "--json")[:2] == (0, "[]\n")


@pytest.mark.parametrize(
    ("content", "argv", "message"),
    [
        (None, (), "cannot read the template"),
        ("Resources: [unclosed", (), "is not a YAML or JSON template"),
        ("Description: nothing\n", (), "has no Resources section"),
        ("Resources:\n  Q: {Type: AWS::SQS::Queue}\n", ("--parameter", "Nope=1"), "no such parameter: Nope"),
        (
            "Resources:\n  Q: {Type: AWS::SQS::Queue}\n",
            ("--parameter", "Nope"),
            "give parameters as Name=Value",
        ),
        (
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  F: {Type: AWS::Serverless::Function, Properties: {}}\n",
            (),
            "the SAM transform refused the template",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path, content: str | None, argv: tuple[str, ...], message: str
) -> None:
    # Given a template that cannot be audited as given
    path = tmp_path / "template.yaml"
    if content is not None:
        path.write_text(content)
    # When it is audited, Then one line says why, nothing else
    code, out, err = _run("--template", str(path), *argv)
    assert (code, out) == (2, "")
    assert err.startswith("dlq audit: ")
    assert message in err
    assert err.count("\n") == 1


def test_without_the_sam_translator_it_says_which_extra_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an installation without the audit extra (the SAM translator cannot be imported)
    monkeypatch.delitem(sys.modules, "lambda_failure_toolkit.cli.audit.transform", raising=False)
    monkeypatch.delattr(audit_package, "transform", raising=False)
    monkeypatch.setitem(sys.modules, "samtranslator.translator.transform", None)
    # When a template is audited, Then one line names the extra, exit 2
    code, out, err = _run("--template", str(GOOD))
    assert (code, out) == (2, "")
    assert err == (
        "dlq audit: aws-sam-translator is not installed: --template needs the audit extra, "
        "pip install 'lambda-failure-toolkit[audit]'\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ("--template", str(GOOD), "--stack-name", "orders"),
            "--template audits a file, --stack-name an account",
        ),
        (("--parameter", "Stage=prod"), "--parameter is a template's: give --template too"),
    ],
)
def test_a_template_and_an_account_together_are_refused(argv: tuple[str, ...], message: str) -> None:
    code, out, err = _run(*argv)
    assert (code, out) == (2, "")
    assert message in err

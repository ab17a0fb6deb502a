"""`dlq audit`: read the model (a template, or the account), run every rule, show the findings; exit 1
when one is at or above `--fail-on`, 2 when the input cannot be read (one line saying why)."""

import argparse
import json
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from rich.text import Text

from lambda_failure_toolkit.cli.audit.finding import Finding, Severity
from lambda_failure_toolkit.cli.audit.model import Model
from lambda_failure_toolkit.cli.audit.render import RenderError, overrides
from lambda_failure_toolkit.cli.audit.rules import audit
from lambda_failure_toolkit.cli.console import console_for, show, table
from lambda_failure_toolkit.cli.dlq.errors import aws_reason, is_setup_error, setup_problem

__all__ = ["SessionFactory", "run_audit"]

SessionFactory = Callable[..., Any]
"""boto3.Session, or a test's."""

_STYLES = {Severity.HIGH: "red", Severity.MEDIUM: "yellow", Severity.LOW: "cyan", Severity.INFO: "dim"}


class _BadInputError(Exception):
    """The audit cannot read what it was given."""


def run_audit(
    args: argparse.Namespace, out: TextIO, err: TextIO, session_factory: SessionFactory = boto3.Session
) -> int:
    try:
        model = _read(args, session_factory)
    except _BadInputError as exc:
        print(f"dlq audit: {exc}", file=err)
        return 2
    findings = audit(model)
    if args.json:
        print(json.dumps([finding.as_json() for finding in findings], indent=2), file=out)
    else:
        _show(findings, out)
    threshold = Severity[args.fail_on.upper()]
    return 1 if any(finding.rule.severity >= threshold for finding in findings) else 0


def _read(args: argparse.Namespace, session_factory: SessionFactory) -> Model:
    if args.template is not None:
        account_options = [
            option
            for option, value in (
                ("--stack-name", args.stack_name),
                ("--region", args.region),
                ("--profile", args.profile),
                ("--endpoint-url", args.endpoint_url),
            )
            if value is not None
        ]
        if account_options:
            raise _BadInputError(
                f"--template audits a file, {', '.join(account_options)} an account: give one or the other"
            )
        return _read_template(args)
    if args.parameters:
        raise _BadInputError("--parameter is a template's: give --template too")
    try:
        from lambda_failure_toolkit.cli.audit.live_reader import read_account  # noqa: PLC0415

        session = session_factory(region_name=args.region, profile_name=args.profile)
        return read_account(session, endpoint_url=args.endpoint_url, stack_name=args.stack_name)
    except (ClientError, BotoCoreError, ValueError) as exc:
        refusal = _refusal(exc, args.stack_name)
        if refusal is None:
            raise
        raise refusal from exc


def _refusal(exc: Exception, stack_name: str | None) -> "_BadInputError | None":
    """One line for what the operator must fix; None for an error the audit cannot explain."""
    if isinstance(exc, (ClientError, BotoCoreError)) and is_setup_error(exc):
        return _BadInputError(setup_problem(exc))
    if not isinstance(exc, ClientError):  # botocore refused a region name or an endpoint URL
        return _BadInputError(f"{exc}: check --region and --endpoint-url")
    if "AccessDenied" in aws_reason(exc):
        return _BadInputError(f"the credentials may not read the account ({aws_reason(exc)})")
    if stack_name and "does not exist" in aws_reason(exc):
        return _BadInputError(f"no stack {stack_name!r} in this region ({aws_reason(exc)})")
    return None


def _read_template(args: argparse.Namespace) -> Model:
    try:
        from lambda_failure_toolkit.cli.audit import transform  # noqa: PLC0415 -- the audit extra
    except ModuleNotFoundError as exc:
        raise _BadInputError(
            "aws-sam-translator is not installed: --template needs the audit extra, "
            "pip install 'lambda-failure-toolkit[audit]'"
        ) from exc
    from lambda_failure_toolkit.cli.audit.template_reader import model_of, resolved_resources  # noqa: PLC0415

    try:
        template = transform.transformed(transform.parse(args.template))
        return model_of(resolved_resources(template, overrides(args.parameters)))
    except (transform.TransformError, RenderError) as exc:
        raise _BadInputError(str(exc)) from exc


def _show(findings: Sequence[Finding], out: TextIO) -> None:
    console = console_for(out)
    if not findings:
        show(console, Text("dlq audit: no finding"))
        return
    rows = table("severity", "rule", "resource", "finding", "why")
    for finding in findings:
        severity = finding.rule.severity
        rows.add_row(
            Text(severity.label, style=_STYLES[severity]),
            finding.rule.id,
            finding.resource,
            finding.detail,
            finding.rule.why,
        )
    fixes = [Text(f"{rule.id}: {rule.what}\n{rule.fix}") for rule in dict.fromkeys(f.rule for f in findings)]
    show(console, rows, Text("fixes (SAM):", style="bold"), *fixes)

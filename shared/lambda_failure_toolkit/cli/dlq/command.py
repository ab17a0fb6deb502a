"""`dlq`'s main: parse, find the toolkit's resources, build and check the request, run it, show the
outcome; every refusal is one line (with the request's problems below it) and exit status 2."""

import argparse
import contextlib
import getpass
import os
import sys
from collections.abc import Callable, Sequence
from typing import Final, TextIO

from botocore.exceptions import BotoCoreError, ClientError

from lambda_failure_toolkit.cli.dlq.errors import RefusedError, aws_reason, is_setup_error, setup_problem
from lambda_failure_toolkit.cli.dlq.failures_command import list_failures
from lambda_failure_toolkit.cli.dlq.parser import parse_args
from lambda_failure_toolkit.cli.dlq.render import show_report
from lambda_failure_toolkit.cli.dlq.request_options import allowed_targets, raw_request
from lambda_failure_toolkit.cli.dlq.run import EngineFactory, Outcome, invoke, redrive
from lambda_failure_toolkit.cli.dlq.session import AwsFactory, AwsSession
from lambda_failure_toolkit.cli.dlq.show_command import show_failure
from lambda_failure_toolkit.cli.dlq.toolkit import find_toolkit
from lambda_failure_toolkit.redrive.engine import Redrive
from lambda_failure_toolkit.redrive.report import RunStatus
from lambda_failure_toolkit.redrive.request import RedriveRequestError, parse_redrive_request

__all__ = ["main"]

_MAX_REQUESTED_BY: Final = 512


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    engine_factory: EngineFactory | None = None,
    aws_factory: AwsFactory | None = None,
    os_user: Callable[[], str] | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = parse_args(argv)
        except SystemExit as exc:  # --help, or argparse refused an option
            return exc.code if isinstance(exc.code, int) else 2
    if args.command == "audit":
        # Imported here: the audit imports this package's errors, and a redrive needs none of it.
        from lambda_failure_toolkit.cli.audit.command import run_audit  # noqa: PLC0415

        return run_audit(args, out, err)
    if args.command in {"failures", "show"}:
        return _console(args, out, err, aws_factory or AwsSession)
    return _redrive(
        args,
        out,
        err,
        engine_factory=engine_factory or Redrive,
        aws_factory=aws_factory or AwsSession,
        os_user=os_user or getpass.getuser,
    )


def _redrive(
    args: argparse.Namespace,
    out: TextIO,
    err: TextIO,
    *,
    engine_factory: EngineFactory,
    aws_factory: AwsFactory,
    os_user: Callable[[], str],
) -> int:
    """`dlq redrive` or `dlq invoke`: the request checked whole, run, and its report."""
    try:
        outcome = _command(args, err, engine_factory=engine_factory, aws_factory=aws_factory, os_user=os_user)
    except RedriveRequestError as exc:
        return _refuse(err, str(exc), exc.problems)
    except RefusedError as exc:
        return _refuse(err, f"{exc}. Nothing was touched.", exc.problems)
    except (ClientError, BotoCoreError) as exc:
        if not is_setup_error(exc):
            raise
        return _refuse(err, f"{setup_problem(exc)}. Nothing was touched.")
    return _conclude(outcome, args, out, err)


def _command(
    args: argparse.Namespace,
    err: TextIO,
    *,
    engine_factory: EngineFactory,
    aws_factory: AwsFactory,
    os_user: Callable[[], str],
) -> Outcome:
    def session() -> AwsSession:
        return aws_factory(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile)

    # Without a stack, the request is checked before AWS is reached at all; with one, its outputs may
    # name the request's queues, so they are read first (reading them touches nothing).
    aws = session() if args.stack_name else None
    toolkit = find_toolkit(args, aws, os.environ)
    raw = raw_request(argparse.Namespace(**(vars(args) | dict(toolkit.queue_urls))), err)
    # invoke: checked here too, so that a bad request is not sent; the function checks it again,
    # against its own allow-list.
    allowed = allowed_targets(raw)
    request = parse_redrive_request(raw, allowed)
    aws = aws or session()
    request = request.model_copy(update={"requested_by": _requested_by(aws, os_user, err)})
    mode = "EXECUTE: moving" if not request.dry_run else "dry run (the default; --execute moves): reading"
    print(f"dlq: {mode} {request.describe_source()}, requested by {request.requested_by}", file=err)
    if args.command == "invoke":
        assert toolkit.function_name is not None  # noqa: S101 -- parse_args requires it or a stack
        return invoke(request, function_name=toolkit.function_name, aws=aws, err=err)
    return redrive(
        args,
        request,
        allowed=allowed,
        ledger=toolkit.ledger,
        aws=aws,
        engine_factory=engine_factory,
        err=err,
    )


def _console(args: argparse.Namespace, out: TextIO, err: TextIO, aws_factory: AwsFactory) -> int:
    """`failures` and `show`: they read the ledger (and logs) and touch nothing."""
    try:
        aws = aws_factory(region=args.region, endpoint_url=args.endpoint_url, profile=args.profile)
        toolkit = find_toolkit(args, aws if args.stack_name else None, os.environ)
        if toolkit.ledger is None:
            return _refuse(
                err,
                f"dlq {args.command} reads the failure ledger: give --stack-name, or --ledger-table and "
                "--ledger-bucket (or LEDGER_TABLE_NAME and LEDGER_BUCKET_NAME)",
            )
        ledger = aws.ledger(*toolkit.ledger)
        if args.command == "show":
            return show_failure(args, ledger, aws, out, err)
        return list_failures(args, ledger, out)
    except RefusedError as exc:
        return _refuse(err, str(exc), exc.problems)
    except (ClientError, BotoCoreError) as exc:
        if is_setup_error(exc):
            return _refuse(err, setup_problem(exc))
        return _refuse(
            err,
            f"cannot read the failure ledger ({aws_reason(exc)}): check --stack-name or --ledger-table and "
            "--ledger-bucket, and your rights to read them (docs/permissions.md)",
        )


def _requested_by(aws: AwsSession, os_user: Callable[[], str], err: TextIO) -> str:
    """Who runs it, for the audit line and the ledger: the caller's ARN, else the OS user, said unverified."""
    try:
        return aws.caller_arn()[:_MAX_REQUESTED_BY]
    except (ClientError, BotoCoreError) as exc:
        if is_setup_error(exc):
            raise
        reason = aws_reason(exc)
    user = f"os-user:{os_user()} (unverified: sts get-caller-identity failed)"
    print(
        f"dlq: audit: sts get-caller-identity failed ({reason}): the run is recorded as requested by {user}",
        file=err,
    )
    return user[:_MAX_REQUESTED_BY]


def _conclude(outcome: Outcome, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = outcome.report
    if report is None:
        return outcome.code
    if report.status is RunStatus.REJECTED:
        if args.json:
            print(report.model_dump_json(indent=2), file=out)
        return _refuse(err, report.message or "the request was refused", report.problems)
    show_report(report, args, out, err)
    return outcome.code


def _refuse(err: TextIO, message: str, problems: Sequence[str] = ()) -> int:
    print(f"dlq: {message}", file=err)
    for problem in problems:
        print(f"  - {problem}", file=err)
    return 2

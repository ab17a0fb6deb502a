"""Running a request: `dlq redrive` runs the engine here, `dlq invoke` sends it to the RedriveFunction.
Either way the outcome is a report, or a line saying what happened, and an exit status."""

import argparse
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from lambda_failure_toolkit.cli.console import console_for
from lambda_failure_toolkit.cli.dlq.errors import RefusedError, aws_reason, is_setup_error
from lambda_failure_toolkit.cli.dlq.progress import Watch, approximate_total, library_log
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.ledger import FailureLedger
from lambda_failure_toolkit.redrive.backup import Backup, JsonLinesBackup
from lambda_failure_toolkit.redrive.engine import Redrive, RedriveSourceError
from lambda_failure_toolkit.redrive.report import RedriveReport, RunStatus
from lambda_failure_toolkit.redrive.request import LedgerSource, RedriveRequest
from lambda_failure_toolkit.redrive.targets import RedriveTargets
from lambda_failure_toolkit.retry import Deadline

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["EngineFactory", "Outcome", "invoke", "redrive"]


class EngineFactory(Protocol):
    """How the tool builds its engine (`Redrive` itself; tests pass one with a fake clock)."""

    def __call__(
        self,
        *,
        sqs: "SQSClient",
        lambda_client: "LambdaClient",
        ledger: FailureLedger | None,
        targets: RedriveTargets,
        restrict_derived_targets: bool,
        invoke_identity_arn: Callable[[], str] | None,
        margin_s: float,
        backup: Backup | None,
    ) -> Redrive: ...


@dataclass(frozen=True)
class Outcome:
    report: RedriveReport | None
    """None: the run ended without a report, and `code` says how (a line on stderr said why)."""
    code: int


def redrive(
    args: argparse.Namespace,
    request: RedriveRequest,
    *,
    allowed: RedriveTargets,
    ledger: tuple[str, str] | None,
    aws: AwsSession,
    engine_factory: EngineFactory,
    err: TextIO,
) -> Outcome:
    if isinstance(request.source, LedgerSource) and ledger is None:
        raise RefusedError(
            "a ledger source needs the failure ledger: give --stack-name, or --ledger-table and "
            "--ledger-bucket (or LEDGER_TABLE_NAME and LEDGER_BUCKET_NAME)"
        )
    backup = _backup(args.backup, err) if args.backup and not request.dry_run else None
    if args.backup and request.dry_run:
        print("dlq: --backup: a dry run moves nothing, so it writes no backup", file=err)
    if request.canary is not None and request.dry_run:
        print("dlq: --canary: a dry run sends nothing, so there is no canary to wait for", file=err)
    try:
        return _run(
            args,
            request,
            allowed=allowed,
            ledger=ledger,
            aws=aws,
            engine_factory=engine_factory,
            err=err,
            backup=backup,
        )
    finally:
        if backup is not None:
            backup.close()
            print(
                f"dlq: backup: {backup.written} message(s) written to {backup.path} before they were sent",
                file=err,
            )


def _backup(directory: Path, err: TextIO) -> JsonLinesBackup:
    path = directory / f"dlq-backup-{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}.jsonl"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        backup = JsonLinesBackup(path)
    except OSError as exc:
        raise RefusedError(f"--backup: cannot create a file in {directory} ({exc})") from exc
    print(f"dlq: backup: each message is written to {path} before it is sent", file=err)
    return backup


def _run(
    args: argparse.Namespace,
    request: RedriveRequest,
    *,
    allowed: RedriveTargets,
    ledger: tuple[str, str] | None,
    aws: AwsSession,
    engine_factory: EngineFactory,
    err: TextIO,
    backup: JsonLinesBackup | None,
) -> Outcome:
    sqs = aws.sqs()
    caller = request.requested_by or ""
    engine = engine_factory(
        sqs=sqs,
        lambda_client=aws.lambda_client(),
        ledger=aws.ledger(*ledger) if ledger is not None else None,
        targets=allowed,
        restrict_derived_targets=False,
        # What a Kinesis record sent to its processor says invoked it: here, the operator.
        invoke_identity_arn=(lambda: caller) if caller.startswith("arn:") else None,
        # The engine stops taking new work this long before the deadline: at most a tenth of a short run.
        margin_s=min(30.0, args.max_duration / 10),
        backup=backup,
    )
    console = console_for(err)
    show = args.progress if args.progress is not None else console.is_terminal
    watch = Watch(
        console, show=show, total=approximate_total(sqs, request) if show else None, dry_run=request.dry_run
    )
    try:
        with watch, library_log(watch, verbose=args.verbose):
            report = engine.run(request, deadline=Deadline.after(args.max_duration), progress=watch)
    except RedriveSourceError as exc:
        raise RefusedError(str(exc)) from exc
    except (ClientError, BotoCoreError) as exc:
        if not watch.read_any:
            if is_setup_error(exc):
                raise
            raise RefusedError(f"the run could not start: {aws_reason(exc)}") from exc
        last = watch.last
        assert last is not None  # noqa: S101 -- read_any
        print(
            f"dlq: the run stopped on an AWS error after reading {last.received} message(s) "
            f"(moved {last.moved}, failed {last.failed}): {aws_reason(exc)}. A message leaves its source "
            "only once its target accepted it: the others are still there (those this run held become "
            "visible again when their visibility timeout ends).",
            file=err,
        )
        return Outcome(None, 1)
    except KeyboardInterrupt:
        print(
            "dlq: interrupted. A message leaves its source only once its target accepted it: the others "
            "are still there (those this run held become visible again when their visibility timeout "
            f"ends, within {args.max_duration + 60:.0f} s).",
            file=err,
        )
        return Outcome(None, 130)
    return Outcome(report, exit_code(report))


def invoke(request: RedriveRequest, *, function_name: str, aws: AwsSession, err: TextIO) -> Outcome:
    event = request.model_dump(mode="json", exclude_defaults=True) | {"dry_run": request.dry_run}
    client = aws.lambda_client()  # one attempt: a retried invoke would run the redrive twice
    print(f"dlq: invoking {function_name} and waiting for its report (up to 15 minutes)", file=err)
    try:
        response = client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except (ClientError, BotoCoreError) as exc:
        if is_setup_error(exc):
            raise
        if isinstance(exc, ClientError):
            raise RefusedError(f"cannot invoke {function_name} ({aws_reason(exc)})") from exc
        print(
            f"dlq: no answer from {function_name} ({aws_reason(exc)}): it may still be running; "
            "see its logs for its report",
            file=err,
        )
        return Outcome(None, 1)
    body = response["Payload"].read().decode(errors="replace")
    if response.get("FunctionError"):
        detail = _json_object(body)
        print(
            f"dlq: {function_name} failed ({response['FunctionError']}): "
            f"{detail.get('errorType', 'error')}: {detail.get('errorMessage', body[:500])}. "
            "It may have moved some messages before it failed: see its logs.",
            file=err,
        )
        return Outcome(None, 1)
    try:
        report = RedriveReport.model_validate_json(body)
    except ValidationError:
        answer = _json_object(body)
        if answer.get("status") != RunStatus.REJECTED:
            print(
                f"dlq: {function_name} answered something that is not a redrive report: {body[:500]}",
                file=err,
            )
            return Outcome(None, 1)
        problems = answer.get("problems")
        raise RefusedError(
            str(answer.get("message") or f"{function_name} refused the request"),
            [str(p) for p in problems] if isinstance(problems, list) else (),
        ) from None
    return Outcome(report, exit_code(report))


def exit_code(report: RedriveReport) -> int:
    if report.status is RunStatus.REJECTED:
        return 2
    return 0 if report.status is RunStatus.COMPLETE and report.failed == 0 else 1


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}

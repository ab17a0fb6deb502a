"""`dlq`: redrive failures from the command line, with your own AWS credentials or through the
deployed RedriveFunction.

    dlq redrive --source-type sqs_dlq --queue-url URL             # a dry run: what would move
    dlq redrive --source-type sqs_dlq --queue-url URL --execute   # move it
    dlq redrive --request next.json --execute                     # go on where a run stopped
    dlq invoke --function-name NAME --request request.json        # the same, run by the function

Every option is a field of the redrive request (the RedriveFunction's event); a `--request` file
gives the whole request and the options given override its fields. The request is checked whole
before anything is touched. Without `--execute` a run is a dry run, whatever the file says.

`dlq redrive` runs the engine here: your own IAM rights bound what it may do, so the target
override you give (`--target-queue-url`/`--target-function`, or the request file's `target`) is the
allow-list, and each failure's own target is not restricted. `dlq invoke` runs it in the function,
under the deployment's allow-list.

Exit status:
  0  the run is complete and nothing failed;
  1  the run did not finish cleanly: some failures (a dry run counts those a real run would have),
     a run stopped part way (its `next_request` goes on), SQS still moving the messages (a move
     task was started: it is not done yet), or an error once messages were read;
  2  the request was refused and nothing was touched: a bad option or request file, a source that
     cannot be read, AWS credentials or an endpoint that do not work;
  130  interrupted (Ctrl-C): messages not moved are still in their source.
"""

import argparse
import contextlib
import getpass
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NoReturn, Protocol, TextIO

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    EndpointConnectionError,
    InvalidRegionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    SSOError,
    TokenRetrievalError,
)
from pydantic import ValidationError

from lambda_failure_toolkit.cli.table import print_table
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import FailureLedger, RedriveStatus
from lambda_failure_toolkit.redrive.engine import DEFAULT_RUN_S, Redrive, RedriveSourceError
from lambda_failure_toolkit.redrive.report import Progress, RedriveReport, RunStatus
from lambda_failure_toolkit.redrive.request import (
    LedgerSource,
    RedriveRequest,
    RedriveRequestError,
    RedriveTargets,
    parse_redrive_request,
)
from lambda_failure_toolkit.retry import Deadline, error_code, error_message

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sqs import SQSClient

__all__ = ["AwsSession", "EngineFactory", "main"]

_SOURCE_TYPES: Final = ("sqs_dlq", "lambda_dlq", "destination_queue", "ledger")
_MAX_RUN_S: Final = 12 * 3600 - 60
"""SQS keeps a message invisible for 12 hours at most: a longer run could read a held message again."""
_MAX_REQUESTED_BY: Final = 512
_INVOKE_TIMEOUT: Final = Config(
    # The function may run 15 minutes; a retried RequestResponse invoke would run the redrive twice.
    read_timeout=905,
    connect_timeout=10,
    retries={"total_max_attempts": 1},
)
_REDRAW_S: Final = 0.1
_BAR_WIDTH: Final = 30
_CREDENTIAL_CODES: Final = frozenset(
    {
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidClientTokenId",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "UnrecognizedClientException",
    }
)
_SETUP_ERRORS: Final = (
    NoCredentialsError,
    PartialCredentialsError,
    CredentialRetrievalError,
    TokenRetrievalError,
    SSOError,
    ProfileNotFound,
    NoRegionError,
    EndpointConnectionError,
)
"""Credentials, a profile, a region or an endpoint that do not work: the first call fails."""

_EPILOG: Final = """\
examples:
  # what would go back from an SQS DLQ to its queue (a dry run, the default: nothing moves)
  dlq redrive --source-type sqs_dlq \\
      --queue-url https://sqs.eu-west-1.amazonaws.com/123456789012/orders-queue-dlq-dev
  # move them, 5 a second, at most 100
  dlq redrive --source-type sqs_dlq --queue-url URL --rate 5 --max-messages 100 --execute
  # invoke again the events of a Lambda async DLQ, those that failed with a timeout
  dlq redrive --source-type lambda_dlq --queue-url URL --function order-events-dev \\
      --error-message-pattern 'timed out' --execute
  # from the ledger: one function's failures not yet redriven, of one condition
  dlq redrive --source-type ledger --ledger-function-name order-events-dev \\
      --ledger-redrive-status pending --condition RetriesExhausted --execute
  # go on where a run stopped (it printed its next_request; --next-request-file saves it)
  dlq redrive --request next.json --execute
  # the same request, run by the deployed RedriveFunction (its allow-list applies)
  dlq invoke --function-name lambda-failure-toolkit-RedriveFunction-ABC123 --request request.json

exit status: 0 complete, nothing failed; 1 failures, stopped part way, or a move task started
(SQS is still moving); 2 refused, nothing touched (a bad option or request, a source that cannot
be read, AWS credentials or an endpoint that do not work).
"""


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
    ) -> Redrive: ...


class AwsSession:
    """The AWS clients of one command: the operator's credentials (boto3's default chain), a region
    and, for an emulator, an endpoint."""

    def __init__(self, region: str | None = None, endpoint_url: str | None = None) -> None:
        self._session = boto3.Session(region_name=region)
        self._endpoint_url = endpoint_url

    def sqs(self) -> "SQSClient":
        return self._checked(lambda: self._session.client("sqs", endpoint_url=self._endpoint_url))

    def lambda_client(self, config: Config | None = None) -> "LambdaClient":
        return self._checked(
            lambda: self._session.client("lambda", endpoint_url=self._endpoint_url, config=config)
        )

    def caller_arn(self) -> str:
        sts: Any = self._checked(lambda: self._session.client("sts", endpoint_url=self._endpoint_url))
        return str(sts.get_caller_identity()["Arn"])

    def ledger(self, table: str, bucket: str) -> FailureLedger:
        dynamodb = self._checked(lambda: self._session.resource("dynamodb", endpoint_url=self._endpoint_url))
        s3 = self._checked(lambda: self._session.client("s3", endpoint_url=self._endpoint_url))
        return FailureLedger(dynamodb.Table(table), s3, bucket)

    def _checked[T](self, build: Callable[[], T]) -> T:
        """A client, or one line saying which region or endpoint botocore refused to build it with."""
        try:
            return build()
        except InvalidRegionError as exc:
            region = exc.kwargs.get("region_name")
            raise _RefusedError(
                f"the region {region!r} is not an AWS region name (such as eu-west-1): check --region, "
                "AWS_REGION or the profile's region"
            ) from exc
        except ValueError as exc:  # botocore's "Invalid endpoint", or urllib's on a malformed IPv6 host
            where = (
                f"--endpoint-url {self._endpoint_url!r}"
                if self._endpoint_url
                else "the endpoint configured (AWS_ENDPOINT_URL or the profile's endpoint_url)"
            )
            raise _RefusedError(
                f"{where} is not a valid URL ({exc}): give one such as http://localhost:4566"
            ) from exc


class _RefusedError(Exception):
    """The command cannot run as asked; nothing was touched."""

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.problems = tuple(problems)
        super().__init__(message)


# ---------------------------------------------------------------- the command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, f"dlq: {message}\n")


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not 0 < value <= _MAX_RUN_S:
        raise argparse.ArgumentTypeError(f"between 0 and {_MAX_RUN_S} seconds (SQS's longest visibility)")
    return value


def _parser() -> _Parser:
    parser = _Parser(
        prog="dlq",
        description="Redrive Lambda failures safely, from SQS DLQs, Lambda DLQs, on-failure destination\n"
        "queues or the failure ledger. A dry run unless --execute.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{redrive,invoke}")
    redrive = commands.add_parser(
        "redrive",
        help="run the redrive here, with your own AWS credentials",
        description="Run the redrive here, with your own AWS credentials (boto3's default chain): your\n"
        "IAM rights bound what it may do. A dry run unless --execute.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_request_options(redrive)
    run = redrive.add_argument_group("the run")
    run.add_argument(
        "--max-duration",
        type=_seconds,
        default=DEFAULT_RUN_S,
        metavar="SECONDS",
        help=f"the run's deadline: it stops before it and prints how to go on (default {DEFAULT_RUN_S:.0f})",
    )
    run.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="a progress bar on stderr (default: when stderr is a terminal)",
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="the engine's log on stderr (audit lines, warnings)"
    )
    ledger = redrive.add_argument_group(
        "the failure ledger",
        "for a ledger source, and a destination queue's stream failures\n(their records are in the ledger)",
    )
    ledger.add_argument("--ledger-table", metavar="NAME", help="default: $LEDGER_TABLE_NAME")
    ledger.add_argument("--ledger-bucket", metavar="NAME", help="default: $LEDGER_BUCKET_NAME")
    _add_common_options(redrive)

    invoke = commands.add_parser(
        "invoke",
        help="send the request to the deployed RedriveFunction and show its report",
        description="Send the request to the deployed RedriveFunction and wait for its report (a\n"
        "RequestResponse invoke). The function's allow-list bounds the targets. A dry run unless\n"
        "--execute.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    invoke.add_argument(
        "--function-name", required=True, metavar="NAME", help="the RedriveFunction's name or ARN"
    )
    _add_request_options(invoke)
    _add_common_options(invoke)
    return parser


def _add_request_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--request",
        type=Path,
        metavar="FILE",
        help="a JSON redrive request (the function's event); the options given override its fields",
    )
    parser.add_argument(
        "--execute",
        action="store_true",
        help="move the messages; without it the run is a dry run (the default), whatever the request says",
    )
    source = parser.add_argument_group("source")
    source.add_argument("--source-type", choices=_SOURCE_TYPES, help="where the failures are")
    source.add_argument("--queue-url", metavar="URL", help="the queue to redrive (queue source types)")
    source.add_argument(
        "--function",
        metavar="NAME",
        help="lambda_dlq: the function to invoke again (a DLQ message does not name it)",
    )
    source.add_argument(
        "--failure-id",
        dest="failure_ids",
        action="append",
        metavar="ID",
        help="ledger: an entry to redrive (repeatable)",
    )
    source.add_argument("--ledger-function-name", metavar="NAME", help="ledger: the entries of this function")
    source.add_argument("--ledger-source-arn", metavar="ARN", help="ledger: the entries from this source")
    source.add_argument(
        "--ledger-redrive-status",
        choices=[status.value for status in RedriveStatus],
        help="ledger: entries not yet redriven (pending) or already redriven",
    )
    source.add_argument("--ledger-since", metavar="TIME", help="ledger: entries that occurred at or after")
    source.add_argument("--ledger-until", metavar="TIME", help="ledger: entries that occurred at or before")
    source.add_argument(
        "--ledger-kind",
        dest="ledger_kinds",
        action="append",
        choices=[kind.value for kind in FailureKind],
        help="ledger: entries of this kind (repeatable)",
    )
    source.add_argument(
        "--ledger-condition",
        dest="ledger_conditions",
        action="append",
        metavar="CONDITION",
        help="ledger: entries of this condition (repeatable)",
    )
    source.add_argument(
        "--ledger-error-type",
        dest="ledger_error_types",
        action="append",
        metavar="TYPE",
        help="ledger: entries of this error type (repeatable)",
    )
    source.add_argument("--ledger-request-id", metavar="ID", help="ledger: the entries of one request")
    source.add_argument(
        "--cursor", metavar="CURSOR", help="ledger by filter: go on from here (a next_request has it)"
    )

    target = parser.add_argument_group(
        "target", "default: each failure's own target (its queue, or the function that failed)"
    )
    target.add_argument("--target-queue-url", metavar="URL", help="send every message to this queue instead")
    target.add_argument("--target-function", metavar="NAME", help="invoke this function instead")

    selection = parser.add_argument_group(
        "filter", "which failures to redrive; the others stay where they are"
    )
    selection.add_argument(
        "--condition",
        dest="conditions",
        action="append",
        metavar="CONDITION",
        help="e.g. RetriesExhausted (repeatable)",
    )
    selection.add_argument(
        "--error-type", dest="error_types", action="append", metavar="TYPE", help="(repeatable)"
    )
    selection.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        choices=[kind.value for kind in FailureKind],
        help="(repeatable)",
    )
    selection.add_argument(
        "--error-message-pattern", metavar="REGEX", help="a Python regular expression searched in the message"
    )
    selection.add_argument(
        "--payload-predicate",
        metavar="JMESPATH",
        help="redrive when this JMESPath expression on the payload is truthy",
    )
    selection.add_argument(
        "--since",
        metavar="TIME",
        help="failures at or after this moment (ISO 8601, e.g. 2026-11-20T08:00:00Z)",
    )
    selection.add_argument("--until", metavar="TIME", help="failures at or before this moment")

    limits = parser.add_argument_group("limits")
    limits.add_argument("--max-messages", type=int, metavar="N", help="move at most N (1 to 1,000,000)")
    limits.add_argument("--rate", type=float, metavar="PER_SECOND", help="at most this many a second")
    limits.add_argument("--concurrency", type=int, metavar="N", help="workers (1 to 20; default 1)")
    limits.add_argument(
        "--keep-source",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="copy: leave the messages in the source queue",
    )
    limits.add_argument(
        "--stop-after-consecutive-failures",
        type=int,
        metavar="N",
        help="stop when the target refused N in a row (default 10)",
    )
    limits.add_argument(
        "--fifo-group-id", metavar="GROUP", help="into a FIFO queue: the group of messages that have none"
    )


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    output.add_argument(
        "--next-request-file",
        type=Path,
        metavar="FILE",
        help="write the next_request there, when the run stopped part way",
    )
    aws = parser.add_argument_group("AWS")
    aws.add_argument("--region", help="default: boto3's (AWS_REGION, the profile)")
    aws.add_argument(
        "--endpoint-url", metavar="URL", help="an emulator's endpoint (e.g. http://localhost:5000)"
    )


# ---------------------------------------------------------------- the request

_OPTIONS: Final = (
    ("queue_url", ("source", "queue_url")),
    ("function", ("source", "function")),
    ("failure_ids", ("source", "failure_ids")),
    ("cursor", ("source", "cursor")),
    ("ledger_function_name", ("source", "filter", "function_name")),
    ("ledger_source_arn", ("source", "filter", "source_arn")),
    ("ledger_redrive_status", ("source", "filter", "redrive_status")),
    ("ledger_since", ("source", "filter", "since")),
    ("ledger_until", ("source", "filter", "until")),
    ("ledger_kinds", ("source", "filter", "kinds")),
    ("ledger_conditions", ("source", "filter", "conditions")),
    ("ledger_error_types", ("source", "filter", "error_types")),
    ("ledger_request_id", ("source", "filter", "request_id")),
    ("conditions", ("filter", "conditions")),
    ("error_types", ("filter", "error_types")),
    ("kinds", ("filter", "kinds")),
    ("error_message_pattern", ("filter", "error_message_pattern")),
    ("payload_predicate", ("filter", "payload_predicate")),
    ("since", ("filter", "since")),
    ("until", ("filter", "until")),
    ("max_messages", ("max_messages",)),
    ("rate", ("rate_per_second",)),
    ("concurrency", ("concurrency",)),
    ("keep_source", ("keep_source",)),
    ("stop_after_consecutive_failures", ("stop_after_consecutive_failures",)),
    ("fifo_group_id", ("fifo_message_group_id",)),
)
"""Each request option and the field it sets."""


def _raw_request(args: argparse.Namespace, err: TextIO) -> object:
    """The request file, if any, with the options given written over it."""
    raw: object = {}
    if args.request is not None:
        try:
            raw = json.loads(args.request.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise _RefusedError(f"cannot read the request file {args.request}: {exc}") from exc
        except ValueError as exc:
            raise _RefusedError(f"the request file {args.request} is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        return raw  # parse_redrive_request says what is wrong with it
    source = raw.get("source")
    if args.source_type is not None and (
        not isinstance(source, dict) or source.get("type") != args.source_type
    ):
        raw["source"] = {"type": args.source_type}  # another source: none of the file's source fields apply
    for option, path in _OPTIONS:
        value = getattr(args, option)
        if value is not None:
            _put(raw, path, value)
    if args.target_queue_url is not None or args.target_function is not None:
        raw["target"] = {
            name: value
            for name, value in (("queue_url", args.target_queue_url), ("function", args.target_function))
            if value is not None
        }
    if raw.get("dry_run") is False and not args.execute:
        print('dlq: the request file says "dry_run": false; without --execute this is a dry run', file=err)
    raw["dry_run"] = not args.execute
    raw.pop("requested_by", None)  # who runs it now, filled in below
    if not isinstance(raw.get("source"), dict) or "type" not in raw["source"]:
        raise _RefusedError(
            "no source: give --source-type (and its --queue-url, or the ledger's ids or filter), "
            "or a --request file"
        )
    return raw


def _put(raw: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    *parents, name = path
    for key in parents:
        if not isinstance(raw.get(key), dict):
            raw[key] = {}
        raw = raw[key]
    raw[name] = value


def _allowed(raw: object) -> RedriveTargets:
    """The operator's own target, whatever it is: their IAM rights are the bound here."""
    target = raw.get("target") if isinstance(raw, dict) else None
    if not isinstance(target, dict):
        return RedriveTargets()
    queue_url, function = target.get("queue_url"), target.get("function")
    return RedriveTargets(
        queues=frozenset({queue_url} if isinstance(queue_url, str) else ()),
        functions=frozenset({function} if isinstance(function, str) else ()),
    )


def _ledger(args: argparse.Namespace, aws: AwsSession) -> FailureLedger | None:
    table = args.ledger_table or os.environ.get("LEDGER_TABLE_NAME")
    bucket = args.ledger_bucket or os.environ.get("LEDGER_BUCKET_NAME")
    if table and bucket:
        return aws.ledger(table, bucket)
    if table or bucket:
        raise _RefusedError(
            "the ledger needs its table and its bucket: give --ledger-table and --ledger-bucket "
            "(or LEDGER_TABLE_NAME and LEDGER_BUCKET_NAME)"
        )
    return None


def _requested_by(aws: AwsSession, os_user: Callable[[], str], err: TextIO) -> str:
    try:
        return aws.caller_arn()[:_MAX_REQUESTED_BY]
    except ClientError as exc:
        if error_code(exc) in _CREDENTIAL_CODES:
            raise
        reason = f"{error_code(exc)}: {error_message(exc)}"
    except _SETUP_ERRORS:
        raise
    except BotoCoreError as exc:
        reason = str(exc)
    user = f"os-user:{os_user()} (unverified: sts get-caller-identity failed)"
    print(
        f"dlq: audit: sts get-caller-identity failed ({reason}): the run is recorded as requested by {user}",
        file=err,
    )
    return user[:_MAX_REQUESTED_BY]


# ---------------------------------------------------------------- progress


class _Watch:
    """Follows a run's progress (whether it read anything yet) and, when asked, draws it as a bar."""

    def __init__(
        self,
        stream: TextIO,
        *,
        draw: bool,
        total: int | None,
        dry_run: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._draw_bar = draw
        self._total = total or None  # 0 is not known: messages in flight are not counted
        self._dry_run = dry_run
        self._clock = clock
        self._lock = threading.Lock()
        self._drawn_at = -float("inf")
        self._width = 0
        """The width of the bar on the current line; 0 when the line is free."""
        self.last: Progress | None = None

    @property
    def read_any(self) -> bool:
        return self.last is not None and self.last.received > 0

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            self.last = progress
            if self._draw_bar and self._clock() - self._drawn_at >= _REDRAW_S:
                self._draw(progress)

    def line(self, text: str) -> None:
        """A line of its own, below the bar."""
        with self._lock:
            self._end_line()
            self._stream.write(text + "\n")

    def finish(self) -> None:
        with self._lock:
            if self._draw_bar and self.last is not None:
                self._draw(self.last)
            self._end_line()

    def _end_line(self) -> None:
        if self._width:
            self._stream.write("\n")
            self._stream.flush()
            self._width = 0

    def _draw(self, progress: Progress) -> None:
        moved = f"would move {progress.would_move}" if self._dry_run else f"moved {progress.moved}"
        counts = f"{moved}  skipped {progress.skipped}  failed {progress.failed}"
        if self._total:
            filled = min(_BAR_WIDTH, round(_BAR_WIDTH * progress.received / self._total))
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            text = f"[{bar}] {progress.received}/~{self._total} read  {counts}"
        else:
            text = f"{progress.received} read  {counts}"
        self._stream.write("\r" + text.ljust(self._width))
        self._stream.flush()
        self._width = len(text)
        self._drawn_at = self._clock()


class _LogLines(logging.Handler):
    """The library's log as lines on stderr, each with its fields, kept clear of the progress bar."""

    _STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

    def __init__(self, watch: _Watch) -> None:
        super().__init__()
        self._watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        text = f"dlq: {record.levelname.lower()}: {record.getMessage()}"
        if fields:
            text += " " + json.dumps(fields, default=str, separators=(",", ":"))
        self._watch.line(text)


@contextlib.contextmanager
def _library_log(watch: _Watch, *, verbose: bool) -> Iterator[None]:
    """The library's log on stderr with -v, and nowhere otherwise (the report says what it would)."""
    library = logging.getLogger("lambda_failure_toolkit")
    handler = _LogLines(watch) if verbose else logging.NullHandler()
    saved = library.level, library.propagate
    library.addHandler(handler)
    library.setLevel(logging.INFO if verbose else logging.WARNING)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.level, library.propagate = saved


def _approximate_total(aws_sqs: "SQSClient", request: RedriveRequest) -> int | None:
    source = request.source
    if isinstance(source, LedgerSource):
        total = len(set(source.failure_ids)) or None
    else:
        try:
            attributes = aws_sqs.get_queue_attributes(
                QueueUrl=source.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            total = int(attributes["ApproximateNumberOfMessages"])
        except (ClientError, BotoCoreError, KeyError, ValueError):
            return None  # the run itself says what is wrong with the queue
    if total is not None and request.max_messages is not None:
        total = min(total, request.max_messages)
    return total


# ---------------------------------------------------------------- running


@dataclass(frozen=True)
class _Outcome:
    report: RedriveReport | None
    code: int


def _redrive(
    args: argparse.Namespace,
    request: RedriveRequest,
    *,
    allowed: RedriveTargets,
    aws: AwsSession,
    engine_factory: EngineFactory,
    err: TextIO,
) -> _Outcome:
    ledger = _ledger(args, aws)
    if isinstance(request.source, LedgerSource) and ledger is None:
        raise _RefusedError(
            "a ledger source needs the failure ledger: give --ledger-table and --ledger-bucket "
            "(or LEDGER_TABLE_NAME and LEDGER_BUCKET_NAME)"
        )
    sqs = aws.sqs()
    lambda_client = aws.lambda_client()
    caller = request.requested_by or ""
    engine = engine_factory(
        sqs=sqs,
        lambda_client=lambda_client,
        ledger=ledger,
        targets=allowed,
        restrict_derived_targets=False,
        # What a Kinesis record sent to its processor says invoked it: here, the operator.
        invoke_identity_arn=(lambda: caller) if caller.startswith("arn:") else None,
        # The engine stops taking new work this long before the deadline: at most a tenth of a short run.
        margin_s=min(30.0, args.max_duration / 10),
    )
    show = args.progress if args.progress is not None else err.isatty()
    watch = _Watch(
        err, draw=show, total=_approximate_total(sqs, request) if show else None, dry_run=request.dry_run
    )
    try:
        with _library_log(watch, verbose=args.verbose):
            report = engine.run(request, deadline=Deadline.after(args.max_duration), progress=watch)
    except RedriveSourceError as exc:
        raise _RefusedError(str(exc)) from exc
    except (ClientError, BotoCoreError) as exc:
        if not watch.read_any:
            if isinstance(exc, _SETUP_ERRORS) or (
                isinstance(exc, ClientError) and error_code(exc) in _CREDENTIAL_CODES
            ):
                raise
            raise _RefusedError(f"the run could not start: {_aws_reason(exc)}") from exc
        watch.finish()
        last = watch.last
        assert last is not None  # noqa: S101 -- read_any
        print(
            f"dlq: the run stopped on an AWS error after reading {last.received} message(s) "
            f"(moved {last.moved}, failed {last.failed}): {_aws_reason(exc)}. A message leaves its source "
            "only once its target accepted it: the others are still there (those this run held become "
            "visible again when their visibility timeout ends).",
            file=err,
        )
        return _Outcome(None, 1)
    except KeyboardInterrupt:
        watch.finish()
        print(
            "dlq: interrupted. A message leaves its source only once its target accepted it: the others "
            "are still there (those this run held become visible again when their visibility timeout "
            f"ends, within {args.max_duration + 60:.0f} s).",
            file=err,
        )
        return _Outcome(None, 130)
    watch.finish()
    return _Outcome(report, _exit_code(report))


def _invoke(args: argparse.Namespace, request: RedriveRequest, aws: AwsSession, err: TextIO) -> _Outcome:
    event = request.model_dump(mode="json", exclude_defaults=True) | {"dry_run": request.dry_run}
    client = aws.lambda_client(_INVOKE_TIMEOUT)
    print(f"dlq: invoking {args.function_name} and waiting for its report (up to 15 minutes)", file=err)
    try:
        response = client.invoke(
            FunctionName=args.function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
    except ClientError as exc:
        if error_code(exc) in _CREDENTIAL_CODES:
            raise
        raise _RefusedError(f"cannot invoke {args.function_name} ({_aws_reason(exc)})") from exc
    except _SETUP_ERRORS:
        raise
    except BotoCoreError as exc:
        print(
            f"dlq: no answer from {args.function_name} ({_aws_reason(exc)}): it may still be running; "
            "see its logs for its report",
            file=err,
        )
        return _Outcome(None, 1)
    body = response["Payload"].read().decode(errors="replace")
    if response.get("FunctionError"):
        detail = _json_object(body)
        print(
            f"dlq: {args.function_name} failed ({response['FunctionError']}): "
            f"{detail.get('errorType', 'error')}: {detail.get('errorMessage', body[:500])}. "
            "It may have moved some messages before it failed: see its logs.",
            file=err,
        )
        return _Outcome(None, 1)
    try:
        report = RedriveReport.model_validate_json(body)
    except ValidationError:
        answer = _json_object(body)
        if answer.get("status") != RunStatus.REJECTED:
            print(
                f"dlq: {args.function_name} answered something that is not a redrive report: {body[:500]}",
                file=err,
            )
            return _Outcome(None, 1)
        problems = answer.get("problems")
        raise _RefusedError(
            str(answer.get("message") or f"{args.function_name} refused the request"),
            [str(p) for p in problems] if isinstance(problems, list) else (),
        ) from None
    return _Outcome(report, _exit_code(report))


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _exit_code(report: RedriveReport) -> int:
    if report.status is RunStatus.REJECTED:
        return 2
    return 0 if report.status is RunStatus.COMPLETE and report.failed == 0 else 1


def _aws_reason(error: BaseException) -> str:
    if isinstance(error, ClientError):
        return f"{error_code(error)}: {error_message(error)}"
    return str(error)


def _setup_problem(error: BaseException) -> str:
    """What to do about credentials, a region or an endpoint that do not work."""
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found: configure them (aws configure, aws sso login, AWS_PROFILE, or "
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region: give --region or set AWS_REGION"
    if isinstance(error, EndpointConnectionError):
        return f"{error}: check --endpoint-url, --region and the network"
    if isinstance(error, ClientError):
        return f"AWS refused the credentials ({_aws_reason(error)}): refresh them (e.g. aws sso login)"
    return f"AWS credentials: {error}"


# ---------------------------------------------------------------- the report


def _show(report: RedriveReport, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    if args.json:
        print(report.model_dump_json(indent=2), file=out)
    else:
        _print_report(report, out)
    if report.next_request is not None:
        _show_next(report, args, out, err)


def _print_report(report: RedriveReport, out: TextIO) -> None:
    if report.dry_run:
        print("DRY RUN: nothing was moved. Run it again with --execute to move what would move.", file=out)
        print(file=out)
    rows = [
        ("status", report.status.value),
        ("mode", "dry run (the default)" if report.dry_run else "executed"),
        ("source", report.source),
        ("method", report.method or "-"),
        ("requested by", report.requested_by or "-"),
        ("received", str(report.received)),
        (
            "would move" if report.dry_run else "moved",
            str(report.would_move if report.dry_run else report.moved),
        ),
        ("skipped by filter", str(report.skipped_by_filter)),
        ("failed", str(report.failed)),
        ("suspected duplicates", str(report.suspected_duplicates)),
        ("duration", f"{report.duration_s:.1f} s"),
        ("rate", f"{report.rate_per_second:.1f}/s"),
        ("stopped because", report.stopped_because or "-"),
        (
            "remaining in source",
            "-" if report.remaining_in_source is None else f"~{report.remaining_in_source}",
        ),
        ("run id", report.run_id),
    ]
    if report.move_task is not None:
        task = report.move_task
        rows += [
            ("move task", task.task_handle),
            ("moving to", task.destination_arn or "each message's own source queue"),
            ("max per second", "-" if task.max_per_second is None else str(task.max_per_second)),
            ("messages", "-" if task.approximate_messages is None else f"~{task.approximate_messages}"),
        ]
    print_table(rows, out)
    if report.message:
        print(f"\n{report.message}", file=out)
    if report.groups:
        print(f"\n{'would move' if report.dry_run else 'moved'}, by group:", file=out)
        print_table(
            [
                (g.target or "-", g.function or "-", g.condition or "-", g.error_type or "-", str(g.count))
                for g in report.groups
            ],
            out,
            header=("target", "function", "condition", "error type", "count"),
        )
    if report.failures:
        print("\nfailures (they stay where they were):", file=out)
        print_table(
            [(f.id, f.target or "-", f.reason) for f in report.failures],
            out,
            header=("id", "target", "reason"),
        )
        if report.failed > len(report.failures):
            print(
                f"... and {report.failed - len(report.failures)} more: "
                + ", ".join(f"{reason} x{count}" for reason, count in report.failure_reasons.items()),
                file=out,
            )


def _show_next(report: RedriveReport, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    text = json.dumps(report.next_request, indent=2)
    hints = out if not args.json else err
    file = args.next_request_file
    if file is not None:
        try:
            file.write_text(text + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"dlq: cannot write the next request to {file}: {exc}", file=err)
            file = None
    if not args.json:
        print(f"\nnext_request{f' (written to {file})' if file else ''}:\n{text}", file=out)
    command = (
        "dlq redrive" if args.command == "redrive" else f"dlq invoke --function-name {args.function_name}"
    )
    execute = "" if report.dry_run else " --execute"
    if file is not None:
        print(f"go on with: {command} --request {file}{execute}", file=hints)
    else:
        print(
            f"go on with: save it as next.json (or give --next-request-file next.json), then "
            f"{command} --request next.json{execute}",
            file=hints,
        )


# ---------------------------------------------------------------- main


def main(
    argv: Sequence[str] | None = None,
    *,
    out: TextIO | None = None,
    err: TextIO | None = None,
    engine_factory: EngineFactory | None = None,
    aws_factory: Callable[[str | None, str | None], AwsSession] | None = None,
    os_user: Callable[[], str] | None = None,
) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            args = _parser().parse_args(argv)
        except SystemExit as exc:  # --help, or argparse refused an option
            return exc.code if isinstance(exc.code, int) else 2
    try:
        outcome = _command(
            args,
            err,
            engine_factory=engine_factory or Redrive,
            aws_factory=aws_factory or AwsSession,
            os_user=os_user or getpass.getuser,
        )
    except RedriveRequestError as exc:
        return _refuse(err, str(exc), exc.problems)
    except _RefusedError as exc:
        return _refuse(err, f"{exc}. Nothing was touched.", exc.problems)
    except (*_SETUP_ERRORS, ClientError) as exc:
        if isinstance(exc, ClientError) and error_code(exc) not in _CREDENTIAL_CODES:
            raise
        return _refuse(err, f"{_setup_problem(exc)}. Nothing was touched.")
    return _conclude(outcome, args, out, err)


def _command(
    args: argparse.Namespace,
    err: TextIO,
    *,
    engine_factory: EngineFactory,
    aws_factory: Callable[[str | None, str | None], AwsSession],
    os_user: Callable[[], str],
) -> _Outcome:
    raw = _raw_request(args, err)
    # invoke: checked here too, so that a bad request is not sent; the function checks it again,
    # against its own allow-list.
    allowed = _allowed(raw)
    request = parse_redrive_request(raw, allowed)
    aws = aws_factory(args.region, args.endpoint_url)
    request = request.model_copy(update={"requested_by": _requested_by(aws, os_user, err)})
    mode = "EXECUTE: moving" if not request.dry_run else "dry run (the default; --execute moves): reading"
    print(f"dlq: {mode} {request.describe_source()}, requested by {request.requested_by}", file=err)
    if args.command == "invoke":
        return _invoke(args, request, aws, err)
    return _redrive(args, request, allowed=allowed, aws=aws, engine_factory=engine_factory, err=err)


def _conclude(outcome: _Outcome, args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    report = outcome.report
    if report is None:
        return outcome.code
    if report.status is RunStatus.REJECTED:
        if args.json:
            print(report.model_dump_json(indent=2), file=out)
        return _refuse(err, report.message or "the request was refused", report.problems)
    _show(report, args, out, err)
    return outcome.code


def _refuse(err: TextIO, message: str, problems: Sequence[str] = ()) -> int:
    print(f"dlq: {message}", file=err)
    for problem in problems:
        print(f"  - {problem}", file=err)
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""`dlq`'s command line: its commands and options, each request option named for the request field it sets."""

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Final, NoReturn

from lambda_failure_toolkit.cli.audit.options import add_audit_command
from lambda_failure_toolkit.cli.dlq.failures_options import add_failures_command
from lambda_failure_toolkit.cli.dlq.redrive_options import add_canary_options, add_safety_options
from lambda_failure_toolkit.cli.dlq.shared_options import (
    add_aws_options,
    add_failure_filters,
    add_ledger_options,
)
from lambda_failure_toolkit.cli.dlq.show_options import add_show_command
from lambda_failure_toolkit.failures import FailureKind
from lambda_failure_toolkit.ledger import RedriveStatus
from lambda_failure_toolkit.redrive.engine import DEFAULT_RUN_S

__all__ = ["parse_args"]

_SOURCE_TYPES: Final = ("sqs_dlq", "lambda_dlq", "destination_queue", "ledger")
_MAX_RUN_S: Final = 12 * 3600 - 60
"""SQS keeps a message invisible for 12 hours at most: a longer run could read a held message again."""

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
  # names from the toolkit's stack outputs (or those of a stack that nests it): the ledger, the
  # RedriveFunction, and a queue given by its output's name
  dlq redrive --stack-name orders-dev --source-type ledger --ledger-function-name order-events-dev
  dlq redrive --stack-name orders-dev --source-type sqs_dlq --queue-url OrdersQueueDLQUrl
  dlq invoke --stack-name orders-dev --request request.json

exit status: 0 complete, nothing failed; 1 failures, stopped part way, or a move task started
(SQS is still moving); 2 refused, nothing touched (a bad option or request, a source or a stack
that cannot be read, AWS credentials, a region or an endpoint that do not work); 130 interrupted.
"""


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
        description="The on-call console for Lambda failures: what failed (failures, show), a safe redrive\n"
        "from SQS DLQs, Lambda DLQs, on-failure destination queues or the failure ledger (redrive,\n"
        "invoke; a dry run unless --execute), and where failures would be lost (audit).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="{failures,show,redrive,invoke,audit}"
    )
    # The on-call console's commands read the ledger; their options live in their own modules.
    add_failures_command(commands)
    add_show_command(commands)
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
        help="progress on stderr: a bar on a terminal, else a line every 10 s (default: when stderr is a terminal)",
    )
    run.add_argument(
        "-v", "--verbose", action="store_true", help="the engine's log on stderr (audit lines, warnings)"
    )
    add_safety_options(redrive)
    add_ledger_options(
        redrive,
        "for a ledger source, and a destination queue's stream failures\n(their records are in the ledger)",
    )
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
        "--function-name",
        metavar="NAME",
        help="the RedriveFunction's name or ARN (default: --stack-name's RedriveFunctionName)",
    )
    _add_request_options(invoke)
    _add_common_options(invoke)
    add_audit_command(commands)
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
    source.add_argument(
        "--queue-url",
        metavar="URL",
        help="the queue to redrive (queue source types); with --stack-name, or the name of its output",
    )
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
    target.add_argument(
        "--target-queue-url",
        metavar="URL",
        help="send every message to this queue instead (with --stack-name, or the name of its output)",
    )
    target.add_argument("--target-function", metavar="NAME", help="invoke this function instead")

    selection = parser.add_argument_group(
        "filter", "which failures to redrive; the others stay where they are"
    )
    add_failure_filters(selection)
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
    limits.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="workers, each with a call in flight (1 to 20; default 16 for an SQS DLQ, 4 for a redrive that invokes functions)",
    )
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
    add_canary_options(parser)


def _add_common_options(parser: argparse.ArgumentParser) -> None:
    output = parser.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the report as JSON instead of tables")
    output.add_argument(
        "--next-request-file",
        type=Path,
        metavar="FILE",
        help="write the next_request there, when the run stopped part way",
    )
    add_aws_options(parser)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The options, or SystemExit: 0 after --help, 2 with one line saying what is wrong."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "invoke" and args.function_name is None and args.stack_name is None:
        parser.error("invoke needs the RedriveFunction: give --function-name or --stack-name")
    return args

"""`dlq show`'s options: the entry, and how much of its function's log to read."""

import argparse
from typing import Any, Final

from lambda_failure_toolkit.cli.dlq.shared_options import add_aws_options, add_ledger_options

__all__ = ["add_show_command"]

_EPILOG: Final = """\
examples:
  dlq show --stack-name orders-dev async-0f3c...        # the entry, its redrives, its log lines
  dlq show --stack-name orders-dev async-0f3c... --no-logs --json

exit status: 0 shown (a log that cannot be read is said, not an error); 1 no such entry (expired
after the ledger's retention, or never recorded), or its body is gone; 2 refused (a bad option, a
ledger that cannot be read, AWS credentials, a region or an endpoint that do not work).
"""


def _bounded(low: int, high: int) -> Any:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"between {low} and {high}")
        return value

    return parse


def add_show_command(commands: Any) -> None:
    show = commands.add_parser(
        "show",
        help="one failure whole: error, stack trace, event, origin, redrives, and its log lines",
        description="One ledger entry whole (error, stack trace, event or stream records, where it came\n"
        "from, every redrive of it) and its function's CloudWatch Logs lines for its request id.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    show.add_argument("failure_id", metavar="FAILURE_ID", help="as `dlq failures` lists it")
    logs = show.add_argument_group("the function's log")
    logs.add_argument("--no-logs", dest="logs", action="store_false", help="do not read CloudWatch Logs")
    logs.add_argument(
        "--log-lines",
        type=_bounded(1, 1000),
        default=50,
        metavar="N",
        help="at most N lines (default 50)",
    )
    logs.add_argument(
        "--log-window",
        type=_bounded(1, 1440),
        default=60,
        metavar="MINUTES",
        help="read from this long before the failure to 5 minutes after it (default 60)",
    )
    logs.add_argument(
        "--log-group", metavar="NAME", help="default: /aws/lambda/<function> (Lambda's own group)"
    )
    show.add_argument("--json", action="store_true", help="JSON for scripts instead of tables")
    add_ledger_options(show)
    add_aws_options(show)

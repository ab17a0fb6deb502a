"""`dlq failures`'s options: the ledger's filters, paging, and --group-by."""

import argparse
import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from lambda_failure_toolkit.cli.dlq.shared_options import (
    add_aws_options,
    add_failure_filters,
    add_ledger_options,
)
from lambda_failure_toolkit.ledger import RedriveStatus
from lambda_failure_toolkit.ledger.groups import GROUP_BY

__all__ = ["add_failures_command", "moment"]

_AGO: Final = re.compile(r"^(\d{1,6})([mhd])$")
_UNITS: Final = {"m": "minutes", "h": "hours", "d": "days"}

_EPILOG: Final = """\
examples:
  dlq failures --stack-name orders-dev --since 2h                  # the last two hours, newest first
  dlq failures --stack-name orders-dev --group-by error_type       # what kinds of failure, how many
  dlq failures --stack-name orders-dev --group-by fingerprint --function-name order-events-dev
  dlq failures --stack-name orders-dev --status pending --json     # for a script

exit status: 0 listed (even none); 2 refused (a bad option, a ledger that cannot be read, AWS
credentials, a region or an endpoint that do not work).
"""


def moment(text: str) -> datetime:
    """An ISO 8601 moment (UTC when it has no zone), or a time back from now: 30m, 2h, 7d."""
    if match := _AGO.match(text.strip()):
        return datetime.now(UTC) - timedelta(**{_UNITS[match[2]]: int(match[1])})
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a moment: {text!r} (ISO 8601 such as 2026-11-20T08:00:00Z, or back from now: 30m, 2h, 7d)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 10_000:
        raise argparse.ArgumentTypeError("between 1 and 10000")
    return value


def add_failures_command(commands: Any) -> None:
    failures = commands.add_parser(
        "failures",
        help="list the ledger's failures, newest first, or count them by group",
        description="List the failure ledger's entries, newest first, a page at a time; or, with\n"
        "--group-by, count them by function, error type, condition or payload fingerprint (the\n"
        "event's keys and value types: the same bug on different values counts together).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    selection = failures.add_argument_group("filter")
    selection.add_argument("--function-name", metavar="NAME", help="the entries of this function")
    selection.add_argument("--source-arn", metavar="ARN", help="the entries from this stream or DLQ")
    add_failure_filters(selection)
    selection.add_argument(
        "--status", choices=[status.value for status in RedriveStatus], help="redrive status (default: any)"
    )
    selection.add_argument("--request-id", metavar="ID", help="the entries of one request")
    selection.add_argument(
        "--since",
        type=moment,
        metavar="TIME",
        help="occurred at or after: ISO 8601, or back from now (30m, 2h, 7d); default a week back",
    )
    selection.add_argument("--until", type=moment, metavar="TIME", help="occurred at or before")
    view = failures.add_argument_group("output")
    view.add_argument("--group-by", choices=GROUP_BY, help="count by group instead of listing")
    view.add_argument(
        "--limit",
        type=_limit,
        metavar="N",
        help="entries a page (default 50, at most 1000); with --group-by, entries read (default 1000)",
    )
    view.add_argument("--cursor", metavar="CURSOR", help="the next page (the last page printed it)")
    view.add_argument("--json", action="store_true", help="JSON for scripts instead of tables")
    add_ledger_options(failures)
    add_aws_options(failures)

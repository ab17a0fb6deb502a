"""`dlq failures`: the ledger's entries newest first, a page at a time, or counted by group."""

import argparse
from datetime import datetime
from typing import Final, TextIO

from pydantic import ValidationError
from rich.console import RenderableType
from rich.text import Text

from lambda_failure_toolkit.cli.console import console_for, show, table
from lambda_failure_toolkit.cli.dlq.errors import RefusedError
from lambda_failure_toolkit.ledger import FailureLedger, LedgerError, LedgerFilter, LedgerPage
from lambda_failure_toolkit.ledger.groups import Grouping, group_failures

__all__ = ["list_failures"]

_PAGE: Final = 50
_GROUPED: Final = 1000
_MOST_PAGE: Final = 1000
_MESSAGE: Final = 80
"""Characters of an error message in the list (`dlq show` has all of it)."""


def list_failures(args: argparse.Namespace, ledger: FailureLedger, out: TextIO) -> int:
    selection = _selection(args)
    if args.group_by:
        if args.cursor:
            raise RefusedError("--cursor pages a list: --group-by reads the newest --limit entries at once")
        grouping = group_failures(ledger, selection, by=args.group_by, limit=args.limit or _GROUPED)
        if args.json:
            print(grouping.model_dump_json(indent=2), file=out)
        else:
            show(console_for(out), *_groups(grouping))
        return 0
    if (args.limit or _PAGE) > _MOST_PAGE:
        raise RefusedError(f"--limit: at most {_MOST_PAGE} entries a page (give --cursor for the next)")
    try:
        page = ledger.list(selection, limit=args.limit or _PAGE, cursor=args.cursor)
    except LedgerError as exc:  # a cursor it did not issue for this filter
        raise RefusedError(f"--cursor: {exc}") from exc
    if args.json:
        print(page.model_dump_json(indent=2), file=out)
    else:
        show(console_for(out), *_page(page))
    return 0


def _selection(args: argparse.Namespace) -> LedgerFilter:
    try:
        return LedgerFilter(
            function_name=args.function_name,
            source_arn=args.source_arn,
            since=args.since,
            until=args.until,
            kinds=frozenset(args.kinds or ()),
            conditions=frozenset(args.conditions or ()),
            error_types=frozenset(args.error_types or ()),
            redrive_status=args.status,
            request_id=args.request_id,
        )
    except ValidationError as exc:
        problems = [str(error["msg"]).removeprefix("Value error, ") for error in exc.errors()]
        raise RefusedError("the filter cannot select anything: " + "; ".join(problems)) from exc


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S") + "Z"


def _page(page: LedgerPage) -> list[RenderableType]:
    if not page.entries:
        return [Text("no failures match (the default window is the last 7 days: --since reaches further)")]
    rows = table("occurred", "failure id", "kind", "function", "condition", "error", "redrive")
    for entry in page.entries:
        message = entry.error_message or ""
        error = f"{entry.error_type or '-'}: {message[:_MESSAGE]}{'...' if len(message) > _MESSAGE else ''}"
        redrive = entry.redrive_status.value + (f" x{entry.redrive_count}" if entry.redrive_count else "")
        rows.add_row(
            _when(entry.occurred_at),
            entry.failure_id,
            entry.kind.value,
            entry.function_name or "-",
            entry.condition or "-",
            error,
            redrive,
        )
    parts: list[RenderableType] = [rows, Text(f"\n{len(page.entries)} failure(s), newest first.")]
    if page.cursor:
        parts.append(Text(f"more: run the same command with --cursor {page.cursor}"))
    parts.append(Text("look at one: dlq show FAILURE_ID (with the same --stack-name or ledger options)"))
    return parts


def _groups(grouping: Grouping) -> list[RenderableType]:
    if not grouping.groups:
        return [Text("no failures match (the default window is the last 7 days: --since reaches further)")]
    rows = table(grouping.by, "count", "pending", "first seen", "last seen", "newest")
    for group in grouping.groups:
        rows.add_row(
            group.key,
            str(group.count),
            str(group.pending),
            _when(group.first_seen),
            _when(group.last_seen),
            group.example,
        )
    total = f"\n{grouping.entries_read} failure(s) in {len(grouping.groups)} group(s)."
    parts: list[RenderableType] = [rows, Text(total)]
    if grouping.more:
        parts.append(
            Text(
                f"more match: these count the newest {grouping.entries_read}; narrow the filter or raise --limit",
                style="yellow",
            )
        )
    return parts

"""`dlq show`: one ledger entry whole, its redrives, and its function's log lines for its request id."""

import argparse
import json
import re
from datetime import datetime, timedelta
from typing import Final, TextIO

from rich.console import RenderableType
from rich.text import Text

from lambda_failure_toolkit.cli.console import console_for, key_values, show, table
from lambda_failure_toolkit.cli.dlq.errors import RefusedError
from lambda_failure_toolkit.cli.dlq.request_logs import RequestLogs, read_request_logs
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.ledger import FailureLedger, LedgerEntry, LedgerError

__all__ = ["show_failure"]

_FAILURE_ID: Final = re.compile(r"^(async|stream|dlq|delivery)-[0-9a-f]{32}$")
_MOST_LINES: Final = 200
"""Lines of an event shown in a table (`--json` has all of it)."""


def show_failure(
    args: argparse.Namespace, ledger: FailureLedger, aws: AwsSession, out: TextIO, err: TextIO
) -> int:
    if not _FAILURE_ID.match(args.failure_id):
        raise RefusedError(
            f"{args.failure_id!r} is not a failure id (kind-32 hex digits, e.g. async-0f3c...): "
            "copy one from dlq failures"
        )
    try:
        entry = ledger.get(args.failure_id)
    except LedgerError as exc:  # expired, never recorded, or its body object is gone
        print(f"dlq: {exc}", file=err)
        return 1
    logs = None
    if args.logs and entry.function_name:
        logs = read_request_logs(
            aws.logs(),
            log_group=args.log_group or f"/aws/lambda/{entry.function_name}",
            request_id=entry.request_id,
            around=entry.occurred_at,
            window=timedelta(minutes=args.log_window),
            limit=args.log_lines,
        )
    if args.json:
        document = {
            "entry": entry.model_dump(mode="json"),
            "logs": logs.model_dump(mode="json") if logs else None,
        }
        print(json.dumps(document, indent=2, ensure_ascii=False), file=out)
    else:
        show(console_for(out), *_entry(entry), *_logs(entry, logs))
    return 0


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z"


def _entry(entry: LedgerEntry) -> list[RenderableType]:
    rows: list[tuple[str, RenderableType]] = [
        ("failure id", entry.failure_id),
        ("kind", entry.kind.value),
        ("condition", entry.condition or "-"),
        ("function", entry.function_arn or entry.function_name or "-"),
        ("request id", entry.request_id or "-"),
        ("occurred", _when(entry.occurred_at)),
        ("recorded", _when(entry.recorded_at)),
        ("attempts", "-" if entry.attempts is None else str(entry.attempts)),
        ("error", Text(f"{entry.error_type or '-'}: {entry.error_message or '-'}", style="red")),
        ("function error", entry.function_error or "-"),
        ("source", entry.source_arn or "-"),
        ("delivered through", " -> ".join(entry.delivery.channels) or "-"),
        (
            "payload",
            entry.payload_status.value
            + (f" ({entry.payload_dropped_because})" if entry.payload_dropped_because else ""),
        ),
        ("redrive status", entry.redrive_status.value),
        ("redriven", f"{entry.redrive_count} time(s), last {_when(entry.last_redriven_at)}"),
    ]
    if entry.stream is not None:
        ranges = ", ".join(f"{r.shard_id or '-'} {r.first}..{r.last}" for r in entry.stream.ranges)
        rows += [
            ("stream", entry.stream.stream_arn or "-"),
            ("records read back", f"{entry.rehydration_status.value}: {ranges}"),
        ]
    if entry.first_hop is not None:
        hop = entry.first_hop
        rows += [
            ("first hop", f"{hop.service}: {hop.rule_arn or hop.topic_arn or '-'}"),
            ("missed target", hop.target_arn or hop.subscription_arn or "-"),
            ("its error", hop.error_code or "-"),
        ]
    parts: list[RenderableType] = [key_values(rows)]
    if entry.stack_trace:
        parts += [Text("\nstack trace:", style="bold"), Text("\n".join(entry.stack_trace))]
    if entry.records:
        parts += [Text(f"\nrecords ({len(entry.records)}):", style="bold"), _json(list(entry.records))]
    elif entry.has_payload:
        parts += [Text("\nevent:", style="bold"), _json(entry.payload)]
    if entry.redrives:
        redrives = table("#", "redriven at")
        for number, moment in enumerate(entry.redrives, start=1):
            redrives.add_row(str(number), _when(moment))
        parts += [Text("\nredrives:", style="bold"), redrives]
    return parts


def _json(value: object) -> Text:
    lines = json.dumps(value, indent=2, ensure_ascii=False).splitlines()
    if len(lines) > _MOST_LINES:
        lines = [*lines[:_MOST_LINES], f"... {len(lines) - _MOST_LINES} more lines (--json shows all)"]
    return Text("\n".join(lines))


def _logs(entry: LedgerEntry, logs: RequestLogs | None) -> list[RenderableType]:
    if logs is None:
        return []
    heading = Text(
        f"\nlog lines of request {entry.request_id or '-'} in {logs.log_group}, "
        f"{_when(logs.start)} to {_when(logs.end)}:",
        style="bold",
    )
    if logs.problem:
        return [heading, Text(logs.problem, style="yellow")]
    if not logs.lines:
        return [
            heading,
            Text(
                "none: they expired with the group's retention, the function logs to another group "
                "(--log-group), or the window is too short (--log-window)",
                style="yellow",
            ),
        ]
    lines = table("time", "message")
    for line in logs.lines:
        lines.add_row(_when(line.at), line.message)
    parts: list[RenderableType] = [heading, lines]
    if logs.truncated:
        parts.append(Text(f"... more lines match: --log-lines above {len(logs.lines)} reads more"))
    return parts

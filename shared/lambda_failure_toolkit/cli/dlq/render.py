"""A redrive report as `dlq` shows it: tables for people, or `--json` (the report alone, for scripts);
and, when the run stopped part way, the request that goes on and the command that runs it."""

import argparse
import json
import shlex
from typing import Final, TextIO

from rich.console import RenderableType
from rich.text import Text

from lambda_failure_toolkit.cli.console import console_for, key_values, show, table
from lambda_failure_toolkit.redrive.report import RedriveReport, RunStatus

__all__ = ["show_report"]

_STATUS_STYLES: Final = {
    RunStatus.COMPLETE: "green",
    RunStatus.STOPPED: "yellow",
    RunStatus.MOVE_TASK_STARTED: "yellow",
    RunStatus.REJECTED: "red",
}
_WHERE_OPTIONS: Final = (
    "function_name",
    "stack_name",
    "ledger_table",
    "ledger_bucket",
    "region",
    "profile",
    "endpoint_url",
)
"""The options a command that goes on needs again: the request file does not say where to run it."""


def show_report(report: RedriveReport, args: argparse.Namespace, out: TextIO, err: TextIO) -> None:
    if args.json:
        print(report.model_dump_json(indent=2), file=out)
    else:
        show(console_for(out), *_tables(report))
    if report.next_request is not None:
        _show_next(report, args, out, err)


def _tables(report: RedriveReport) -> list[RenderableType]:
    parts: list[RenderableType] = []
    if report.dry_run:
        parts.append(
            Text(
                "DRY RUN: nothing was moved. Run it again with --execute to move what would move.\n",
                style="bold yellow",
            )
        )
    parts.append(key_values(_summary(report)))
    if report.canary is not None:
        canary = report.canary
        verdict = Text(
            f"\ncanary of {canary.size}: {'PASSED' if canary.passed else 'FAILED'}: {canary.verdict}",
            style="bold green" if canary.passed else "bold red",
        )
        parts += [verdict, *(Text(f"  {outcome}") for outcome in canary.outcomes)]
    if report.message:
        parts.append(Text(f"\n{report.message}"))
    if report.groups:
        groups = table("target", "function", "condition", "error type", "count")
        for g in report.groups:
            groups.add_row(
                g.target or "-", g.function or "-", g.condition or "-", g.error_type or "-", str(g.count)
            )
        parts += [Text(f"\n{'would move' if report.dry_run else 'moved'}, by group:", style="bold"), groups]
    if report.failures:
        failures = table("id", "target", "reason")
        for f in report.failures:
            failures.add_row(f.id, f.target or "-", f.reason)
        parts += [Text("\nfailures (they stay where they were):", style="bold"), failures]
        if report.failed > len(report.failures):
            parts.append(
                Text(
                    f"... and {report.failed - len(report.failures)} more: "
                    + ", ".join(f"{reason} x{count}" for reason, count in report.failure_reasons.items())
                )
            )
    return parts


def _summary(report: RedriveReport) -> list[tuple[str, RenderableType]]:
    rows: list[tuple[str, RenderableType]] = [
        ("status", Text(report.status.value, style=_STATUS_STYLES[report.status])),
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
        *(
            [
                (
                    "would quarantine" if report.dry_run else "quarantined",
                    Text(str(report.quarantined), style="yellow"),
                )
            ]
            if report.quarantined
            else []
        ),
        ("failed", Text(str(report.failed), style="red" if report.failed else "")),
        (
            "suspected duplicates",
            Text(str(report.suspected_duplicates), style="yellow" if report.suspected_duplicates else ""),
        ),
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
    return rows


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
    command = " ".join(
        ["dlq", args.command]
        + [
            f"--{option.replace('_', '-')} {shlex.quote(value)}"
            for option in _WHERE_OPTIONS
            if (value := getattr(args, option, None))
        ]
    )
    execute = "" if report.dry_run else " --execute"
    if file is not None:
        print(f"go on with: {command} --request {shlex.quote(str(file))}{execute}", file=hints)
    else:
        print(
            f"go on with: save it as next.json (or give --next-request-file next.json), then "
            f"{command} --request next.json{execute}",
            file=hints,
        )

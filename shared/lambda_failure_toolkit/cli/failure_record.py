"""`failure-record`: say what failure records are, from files or standard input.

    failure-record events/failure-queue/mixed_batch.json     # a table, one row a record
    failure-record --json < message.json                     # FailureRecords as JSON lines
    failure-record --first-hop-dlq <queue ARN> message.json  # a message of an SNS subscription's DLQ

A file may hold one record or a whole Lambda event (`{"Records": [...]}`), whose records are
taken one at a time. The exit status is 0 when every record was recognised, 1 when any was not
(each one is reported, with the reason), 2 when a file cannot be read.
"""

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, TextIO

from lambda_failure_toolkit.cli.console import console_for, show, table
from lambda_failure_toolkit.failures.exceptions import UnrecognizedFailureError
from lambda_failure_toolkit.failures.parser import parse_failure
from lambda_failure_toolkit.failures.record import FailureKind, FailureRecord

__all__ = ["main"]

_COLUMNS = ("where", "kind", "condition", "function / source", "attempts", "error", "failure_id")


def _items(document: Any) -> Iterator[tuple[str, Any]]:
    records = document.get("Records") if isinstance(document, dict) else None
    is_batch = isinstance(records, list) and not any(isinstance(r, dict) and "s3" in r for r in records)
    if is_batch:
        assert isinstance(records, list)  # noqa: S101 -- narrowed above
        for index, record in enumerate(records):
            yield f"Records[{index}]", record
    else:
        yield "", document


def _row(where: str, record: FailureRecord) -> tuple[str, ...]:
    topic = record.first_hop.topic_arn if record.first_hop else None
    what = record.function_name or topic or record.source_arn or "?"
    if record.qualifier:
        what = f"{what}:{record.qualifier}"
    error = ""
    if record.error:
        # A stream failure with functionError null was reported by the function in batchItemFailures.
        reported = "batchItemFailures" if record.kind is FailureKind.STREAM else ""
        error = record.error.type or record.error.function_error or reported
        if record.error.message:
            error = f"{error}: {record.error.message}" if error else record.error.message
    channels = ">".join(record.delivery.channels)
    return (
        f"{where} {channels}".strip(),
        record.kind.value,
        record.condition or "-",
        what,
        "-" if record.attempts is None else str(record.attempts),
        error[:60],
        record.failure_id,
    )


def main(argv: Sequence[str] | None = None, *, stdin: TextIO | None = None, out: TextIO | None = None) -> int:
    parser = argparse.ArgumentParser(prog="failure-record", description=__doc__.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="JSON files (default: standard input)")
    parser.add_argument("--json", action="store_true", help="print each FailureRecord as a JSON line")
    parser.add_argument(
        "--first-hop-dlq",
        action="append",
        default=[],
        metavar="QUEUE_ARN",
        help="an EventBridge rule target's or SNS subscription's DLQ: its messages are undelivered events "
        "(an SNS subscription's carry no other sign of it); repeat for several",
    )
    args = parser.parse_args(argv)
    out = out or sys.stdout
    sources: list[tuple[str, str]] = []
    try:
        sources = [(str(path), path.read_text()) for path in args.files]
    except (OSError, UnicodeDecodeError) as exc:
        print(f"failure-record: cannot read {exc}", file=sys.stderr)
        return 2
    if not args.files:
        sources = [("<stdin>", (stdin or sys.stdin).read())]

    rows: list[tuple[str, ...]] = []
    refused = 0
    for name, text in sources:
        try:
            document = json.loads(text)
        except ValueError:
            document = text  # parse_failure reports what is wrong with it
        for where, item in _items(document):
            label = f"{name} {where}".strip()
            try:
                record = parse_failure(item, first_hop_dlqs=frozenset(args.first_hop_dlq))
            except UnrecognizedFailureError as error:
                refused += 1
                print(f"{label}: {error}", file=sys.stderr)
                continue
            if args.json:
                print(record.model_dump_json(), file=out)
            else:
                rows.append(_row(label, record))
    if rows:
        records = table(*_COLUMNS)
        for row in rows:
            records.add_row(*row)
        show(console_for(out), records)
    return 1 if refused else 0

"""Where a command finds the toolkit's resources: the ledger, the RedriveFunction, and queues named
by a stack output. Each comes from its option, else from the stack's outputs (`--stack-name`), else
(the ledger, without a stack) from the environment."""

import argparse
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from lambda_failure_toolkit.cli.dlq.errors import RefusedError
from lambda_failure_toolkit.cli.dlq.session import AwsSession
from lambda_failure_toolkit.cli.dlq.stack import StackOutputs

__all__ = ["LEDGER_COMMANDS", "Toolkit", "find_toolkit"]

_QUEUE_OPTIONS: Final = ("queue_url", "target_queue_url", "quarantine_queue_url")
"""Options that, with --stack-name, may name an output instead of giving a queue URL."""
LEDGER_COMMANDS: Final = frozenset({"redrive", "failures", "show"})
"""The commands that read the ledger here (`invoke`'s function reads its own)."""


@dataclass(frozen=True)
class Toolkit:
    function_name: str | None = None
    """dlq invoke: the RedriveFunction."""
    ledger: tuple[str, str] | None = None
    """(table, bucket); None: no ledger (a queue source needs none but for stream failures)."""
    queue_urls: Mapping[str, str] = field(default_factory=dict)
    """Queue options given as an output's name (the option's dest: the URL the output holds)."""


def find_toolkit(args: argparse.Namespace, aws: AwsSession | None, environ: Mapping[str, str]) -> Toolkit:
    """`aws` is None when there is no --stack-name (the names are then options or the environment)."""
    if aws is None:
        return Toolkit(function_name=getattr(args, "function_name", None), ledger=_ledger(args, environ))
    wanted: dict[str, str] = {}
    if args.command == "invoke" and args.function_name is None:
        wanted["RedriveFunctionName"] = "--function-name"
    if args.command in LEDGER_COMMANDS:
        if args.ledger_table is None:
            wanted["LedgerTableName"] = "--ledger-table"
        if args.ledger_bucket is None:
            wanted["LedgerBucketName"] = "--ledger-bucket"
    queue_outputs = {
        dest: value
        for dest in _QUEUE_OPTIONS
        if (value := getattr(args, dest, None)) is not None and "://" not in value
    }
    for dest, output in queue_outputs.items():
        wanted[output] = f"--{dest.replace('_', '-')} as a URL"
    found = StackOutputs(aws.cloudformation(), args.stack_name, region=aws.region).values(wanted)
    queue_urls = {dest: found[output] for dest, output in queue_outputs.items()}
    if args.command == "invoke":
        return Toolkit(
            function_name=args.function_name or found["RedriveFunctionName"], queue_urls=queue_urls
        )
    ledger = (args.ledger_table or found["LedgerTableName"], args.ledger_bucket or found["LedgerBucketName"])
    return Toolkit(ledger=ledger, queue_urls=queue_urls)


def _ledger(args: argparse.Namespace, environ: Mapping[str, str]) -> tuple[str, str] | None:
    if args.command not in LEDGER_COMMANDS:
        return None
    table = args.ledger_table or environ.get("LEDGER_TABLE_NAME")
    bucket = args.ledger_bucket or environ.get("LEDGER_BUCKET_NAME")
    if table and bucket:
        return table, bucket
    if table or bucket:
        raise RefusedError(
            "the ledger needs its table and its bucket: give --ledger-table and --ledger-bucket "
            "(or --stack-name, or LEDGER_TABLE_NAME and LEDGER_BUCKET_NAME)"
        )
    return None

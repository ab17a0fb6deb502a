"""The redrive request `dlq` runs: a `--request` file, with the options given written over its fields."""

import argparse
import json
from typing import Any, Final, TextIO

from lambda_failure_toolkit.cli.dlq.errors import RefusedError
from lambda_failure_toolkit.redrive.targets import RedriveTargets

__all__ = ["allowed_targets", "raw_request"]

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
    ("canary", ("canary",)),
    ("canary_wait", ("canary_wait_s",)),
    ("max_failure_rate", ("max_failure_rate",)),
    ("max_replays", ("max_replays",)),
    ("quarantine_queue_url", ("quarantine_queue_url",)),
)
"""Each request option and the field it sets."""


def raw_request(args: argparse.Namespace, err: TextIO) -> object:
    """The request file, if any, with the options given written over it."""
    raw: object = {}
    if args.request is not None:
        try:
            raw = json.loads(args.request.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise RefusedError(f"cannot read the request file {args.request}: {exc}") from exc
        except ValueError as exc:
            raise RefusedError(f"the request file {args.request} is not JSON: {exc}") from exc
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
    raw.pop("requested_by", None)  # who runs it now: the command fills it in
    if not isinstance(raw.get("source"), dict) or "type" not in raw["source"]:
        raise RefusedError(
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


def allowed_targets(raw: object) -> RedriveTargets:
    """The operator's own target, whatever it is: their IAM rights are the bound here."""
    target = raw.get("target") if isinstance(raw, dict) else None
    quarantine = raw.get("quarantine_queue_url") if isinstance(raw, dict) else None
    queue_url, function = (
        (target.get("queue_url"), target.get("function")) if isinstance(target, dict) else (None, None)
    )
    return RedriveTargets(
        queues=frozenset(queue for queue in (queue_url, quarantine) if isinstance(queue, str)),
        functions=frozenset({function} if isinstance(function, str) else ()),
    )

"""`dlq redrive`'s safety options: a backup of what a run moves (here only), a canary and a failure-rate
stop, a replay limit and quarantine (request fields: `dlq invoke` sends them to the function too)."""

import argparse
from collections.abc import Callable
from pathlib import Path

__all__ = ["add_canary_options", "add_safety_options"]


def add_safety_options(parser: argparse.ArgumentParser) -> None:
    safety = parser.add_argument_group("safety")
    safety.add_argument(
        "--backup",
        type=Path,
        metavar="DIR",
        help="write every message or entry a real run moves, with its attributes, as JSON lines in a new "
        "file there, flushed to disk before it is sent",
    )


def _number(kind: type[int] | type[float], what: str) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None

    return parse


def add_canary_options(parser: argparse.ArgumentParser) -> None:
    canary = parser.add_argument_group("canary and failure-rate stop")
    canary.add_argument(
        "--canary",
        type=_number(int, "a whole number"),
        metavar="N",
        help="replay N (1 to 100) first and wait for their outcome (a function: a synchronous invoke of "
        "the same event; a queue: they must leave it and not come back to its DLQ); go on only if they succeeded",
    )
    canary.add_argument(
        "--canary-wait",
        type=_number(float, "a number of seconds"),
        metavar="SECONDS",
        help="how long a queue canary's messages have to leave the target queue (default 120, at most 900)",
    )
    canary.add_argument(
        "--max-failure-rate",
        type=_number(float, "a share such as 0.2"),
        metavar="SHARE",
        help="stop once more than this share (0 to 1) of the deliveries failed at the target, "
        "after the first 10",
    )
    canary.add_argument(
        "--max-replays",
        type=_number(int, "a whole number"),
        metavar="N",
        help="a failure replayed N times already is quarantined instead: a ledger entry is marked "
        "quarantined, an SQS DLQ message goes to --quarantine-queue-url or stays in its DLQ",
    )
    canary.add_argument(
        "--quarantine-queue-url",
        metavar="URL",
        help="sqs_dlq: where messages past --max-replays go (with --stack-name, or the name of its output)",
    )

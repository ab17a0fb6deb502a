"""`dlq redrive`'s safety options: a backup of what a run moves."""

import argparse
from pathlib import Path

__all__ = ["add_safety_options"]


def add_safety_options(parser: argparse.ArgumentParser) -> None:
    safety = parser.add_argument_group("safety")
    safety.add_argument(
        "--backup",
        type=Path,
        metavar="DIR",
        help="write every message or entry a real run moves, with its attributes, as JSON lines in a new "
        "file there, flushed to disk before it is sent",
    )

"""Plain-text tables for the demo's narration: each column as wide as its widest cell."""

from collections.abc import Sequence
from typing import TextIO

__all__ = ["print_table"]


def print_table(rows: Sequence[Sequence[str]], out: TextIO, *, header: Sequence[str] | None = None) -> None:
    lines = [header, *rows] if header is not None else list(rows)
    if not lines:
        return
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip(), file=out
        )

"""Tables for people, with rich: styled on a terminal, plain text anywhere else (a pipe, a CI log, a
file), where no colour or cursor code is written and no line is wrapped to a width a pipe does not have."""

from collections.abc import Sequence
from typing import Final, TextIO

from rich import box
from rich.console import Console, RenderableType
from rich.table import Table

__all__ = ["console_for", "key_values", "show", "table"]

_UNWRAPPED: Final = 100_000
"""Wider than any line: a queue URL or an error message wrapped in a log can be neither copied nor grepped."""


def console_for(stream: TextIO) -> Console:
    terminal = stream.isatty()
    return Console(
        file=stream,
        # isatty alone decides: FORCE_COLOR or TTY_COMPATIBLE set for a CI job must not put codes in its log.
        force_terminal=terminal,
        width=None if terminal else _UNWRAPPED,
        # Cells hold queue names, error messages and payload excerpts: never markup nor emoji codes.
        markup=False,
        emoji=False,
        highlight=False,
    )


def show(console: Console, *renderables: RenderableType) -> None:
    """Print each below the last; off a terminal, without the blanks rich pads each table cell with."""
    if console.is_terminal:
        for renderable in renderables:  # one print each: print(a, b) would join texts on one line
            console.print(renderable)
        return
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    console.file.write("".join(line.rstrip() + "\n" for line in captured.get().splitlines()))


def table(*header: str) -> Table:
    """Columns under a header and one rule, no frame: reads the same on a terminal and in a log."""
    return Table(
        *header,
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        collapse_padding=True,  # two spaces between columns, as in the key-values above them
        header_style="bold",
    )


def key_values(rows: Sequence[tuple[str, RenderableType]]) -> Table:
    """Labels and their values, two columns."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in rows:
        grid.add_row(label, value)
    return grid

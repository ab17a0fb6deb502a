"""The tools' tables: plain text off a terminal (a pipe, a CI log), styled on one."""

import io

import pytest

from lambda_failure_toolkit.cli.console import console_for, key_values, show, table
from tests.cli_support import Terminal


def rendered(stream: io.StringIO) -> str:
    grid = table("target", "count")
    grid.add_row("https://sqs.eu-west-1.amazonaws.com/123456789012/" + "q" * 80, "3")
    grid.add_row("[bold]not markup[/bold] :smile:", "12")
    show(console_for(stream), key_values([("status", "complete"), ("would move", "15")]), grid)
    return stream.getvalue()


def test_off_a_terminal_plain_lines_never_wrapped_nor_padded() -> None:
    text = rendered(io.StringIO())

    assert "\x1b" not in text
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/" + "q" * 80
    assert text.splitlines() == [
        "status      complete",
        "would move  15",
        "target" + " " * (len(url) - 4) + "count",
        "─" * (len(url) + 2 + 5),
        f"{url}  3",
        "[bold]not markup[/bold] :smile:" + " " * (len(url) - 29) + "12",
    ]


def test_on_a_terminal_styles_and_fits_the_width(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "80")

    text = rendered(Terminal())

    assert "\x1b[1m" in text  # the labels and the header in bold
    assert "[bold]not markup[/bold]" in text
    assert max(len(line) for line in text.replace("\x1b[1m", "").replace("\x1b[0m", "").splitlines()) <= 80

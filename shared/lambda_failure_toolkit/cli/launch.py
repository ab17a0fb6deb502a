"""The console scripts. Each imports its tool only once it knows the `cli` extra is there: the library
installed without it (a function's dependencies) says what to install, not a traceback."""

import sys
from collections.abc import Callable
from typing import Final

__all__ = ["dlq", "failure_record"]

_EXTRA: Final = frozenset({"rich", "boto3", "botocore"})
"""What the `cli` extra adds to the library's own dependencies."""


def dlq() -> int:
    return _launch("dlq", _dlq_main)


def failure_record() -> int:
    return _launch("failure-record", _failure_record_main)


def _launch(prog: str, load: Callable[[], Callable[[], int]]) -> int:
    try:
        main = load()
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").partition(".")[0]
        if missing not in _EXTRA:
            raise
        print(
            f"{prog}: {missing} is not installed: the command-line tools need the cli extra, "
            "pip install 'lambda-failure-toolkit[cli]'",
            file=sys.stderr,
        )
        return 2
    return main()


# Imported when called, after the check above: importing them imports rich and boto3.
def _dlq_main() -> Callable[[], int]:
    from lambda_failure_toolkit.cli.dlq import main  # noqa: PLC0415

    return main


def _failure_record_main() -> Callable[[], int]:
    from lambda_failure_toolkit.cli.failure_record import main  # noqa: PLC0415

    return main

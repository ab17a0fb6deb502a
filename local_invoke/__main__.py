"""`make invoke`: run one function of the templates with one event in its Lambda container, against
a local account, and say what it answered and changed.

    python -m local_invoke                                   # the functions and their sample events
    python -m local_invoke FUNCTION EVENT [--set NAME=VALUE ...]
    python -m local_invoke FUNCTION EVENT --check            # check the arguments only

`make invoke FUNCTION=... EVENT=... VARS="NAME=VALUE"` checks the arguments first, then runs this
with the SAM CLI and Docker set up (scripts/with-sam-local). A bad argument is one line and exit 2;
a run that could not complete, one line and exit 1.
"""

import argparse
import json
import sys
from pathlib import Path
from typing import NoReturn, TextIO

from local_invoke.account import AccountError
from local_invoke.functions import UnknownFunctionError, declared_variables, find, functions
from local_invoke.index import EVENTS, sample_events
from local_invoke.run import Request, invoke
from local_invoke.sam import SamError
from local_invoke.template import ROOT, TemplateError

__all__ = ["UsageError", "main", "request_from"]


class UsageError(ValueError):
    """A bad argument: said in one line."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def _parser() -> _Parser:
    parser = _Parser(prog="make invoke", add_help=False)
    parser.add_argument("function", nargs="?", default="")
    parser.add_argument("event", nargs="?", default="")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--check", action="store_true")
    return parser


def _event_path(given: str) -> Path:
    """A path from the repository's root, or under events/ (as events/README.md names them)."""
    for candidate in (ROOT / given, EVENTS / given):
        if candidate.is_file():
            try:
                json.loads(candidate.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise UsageError(f"EVENT {given} is not JSON ({error})") from error
            return candidate
    raise UsageError(f"no event file {given}: `make invoke` lists the sample events")


def request_from(function_name: str, event: str, assignments: list[str]) -> Request:
    if not (function_name or event):
        raise UsageError("VARS set a function's variables: give FUNCTION and EVENT too")
    if not function_name:
        raise UsageError("give FUNCTION too, e.g. make invoke FUNCTION=SqsOrdersFunction EVENT=" + event)
    if not event:
        raise UsageError(
            f"give EVENT too, e.g. EVENT=events/sqs/one_poison.json: `make invoke` lists {function_name}'s"
        )
    try:
        function = find(function_name)
    except UnknownFunctionError as error:
        raise UsageError(str(error)) from error
    declared = declared_variables(function)
    variables: dict[str, str] = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise UsageError(f"VARS takes NAME=VALUE, not {assignment!r}")
        if name not in declared:
            raise UsageError(
                f"{function.logical_id} declares no variable {name} (sam local invoke sets only declared ones): "
                + ", ".join(declared)
            )
        variables[name] = value
    return Request(function, _event_path(event), variables)


def listing(out: TextIO) -> None:
    samples = sample_events()
    print(
        'make invoke FUNCTION=<function> EVENT=<event> [VARS="NAME=value"]   (events/README.md says more)',
        file=out,
    )
    for function in functions():
        print(
            f"\n{function.logical_id}" + (f"  (in {function.nested_in})" if function.nested_in else ""),
            file=out,
        )
        for sample in (sample for sample in samples if sample.function == function.logical_id):
            variables = " ".join(f"{name}={value}" for name, value in sample.variables)
            print(f"  events/{sample.event}" + (f' VARS="{variables}"' if variables else ""), file=out)
            print(f"      {sample.shows}", file=out)


def main(argv: list[str], out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        arguments = _parser().parse_args(argv)
        if not (arguments.function or arguments.event or arguments.set):
            listing(out)
            return 0
        request = request_from(arguments.function, arguments.event, arguments.set)
        if arguments.check:
            return 0
        invoke(request, out)
    except UsageError as error:
        print(f"make invoke: {error}", file=err)
        return 2
    except (SamError, AccountError, TemplateError) as error:
        print(f"make invoke: {error}", file=err)
        return 1
    except KeyboardInterrupt:
        print("make invoke: interrupted; the moto server is stopped.", file=err)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""One `make invoke`: build, start the local account, create its stores, write the function's
environment, `sam local invoke`, then say what the function answered and changed."""

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from local_invoke.account import LocalAccount, running_moto_server
from local_invoke.changes import describe_changes, snapshot
from local_invoke.functions import Function, environment
from local_invoke.index import SampleEvent, meets, sample_events
from local_invoke.sam import sam_build, sam_local_invoke
from local_invoke.samples import prepare
from local_invoke.template import ROOT

__all__ = ["RUN_DIR", "Request", "invoke"]

RUN_DIR = ROOT / ".aws-sam" / "local-invoke"
"""The last run's env-vars file and logs (beside sam build's output, which git ignores)."""


@dataclass(frozen=True)
class Request:
    function: Function
    event: Path
    variables: dict[str, str] = field(default_factory=dict)
    """Over the template's values."""


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _documented(request: Request) -> SampleEvent | None:
    for sample in sample_events():
        if (
            sample.function == request.function.logical_id
            and sample.path.resolve() == request.event.resolve()
            and dict(sample.variables) == request.variables
        ):
            return sample
    return None


def invoke(request: Request, out: TextIO) -> None:
    """Raises SamError, AccountError or TemplateError when it cannot; the function's own error is
    its response."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    sam_build(RUN_DIR / "sam-build.log")
    print(f"$ sam build --cached    ({time.monotonic() - started:.0f} s)", file=out, flush=True)
    with running_moto_server(RUN_DIR / "moto.log") as server:
        account = LocalAccount(server.endpoint)
        stores = account.create_stores()
        prepare(request.function.logical_id, account)
        print(
            f"Local account: a moto server at {server.endpoint} (pid {server.pid}), holding the "
            f"{len(stores)} tables, queues, buckets, topics and streams of both templates (stage dev)",
            file=out,
        )
        variables = environment(request.function, account.sample) | request.variables
        env_vars = RUN_DIR / "env-vars.json"
        env_vars.write_text(json.dumps({request.function.logical_id: variables}, indent=2) + "\n")
        print(f"The function's environment ({_shown(env_vars)}):", file=out)
        for name, value in variables.items():
            print(f"  {name}={value}", file=out)
        before = snapshot(account)
        log = RUN_DIR / "sam-local-invoke.log"
        print(
            f"$ sam local invoke {request.function.full_name} --event {_shown(request.event)} "
            f"--env-vars {_shown(env_vars)}",
            file=out,
            flush=True,
        )
        invocation = sam_local_invoke(request.function.full_name, request.event, env_vars, log)
        print(f"  ({invocation.seconds:.0f} s; the function's log: {_shown(log)})", file=out)
        _tell_response(out, invocation.response, _documented(request))
        print("\nWhat it changed:", file=out)
        for line in describe_changes(account, before, snapshot(account)):
            print(f"  {line}", file=out)
    print(f"\nThe moto server (pid {server.pid}) is stopped.", file=out)


def _tell_response(out: TextIO, response: Any, documented: SampleEvent | None) -> None:
    print("\nResponse:", file=out)
    print(json.dumps(response, indent=2), file=out)
    if documented is None:
        print("(not a sample event of events/README.md: no expected response to compare)", file=out)
        return
    verdict = "as expected" if meets(response, documented.expected) else "NOT as expected"
    print(f"Expected (events/README.md): {json.dumps(dict(documented.expected))}: {verdict}.", file=out)

"""The SAM CLI, as `make invoke` runs it: `sam build --cached`, then `sam local invoke` with an
`--env-vars` file, with the local account's credentials and never the user's."""

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_invoke.account import CREDENTIALS
from local_invoke.template import ROOT

__all__ = ["Invocation", "SamError", "sam_build", "sam_environment", "sam_local_invoke"]

_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL")
"""A user's credentials, profile or endpoint would reach the container: the local account's only."""


class SamError(RuntimeError):
    """The SAM CLI is missing, failed, or the function gave no response."""


@dataclass(frozen=True)
class Invocation:
    response: Any
    """What the function returned, or its error (`errorType`, `errorMessage`): `sam local invoke`
    prints it as the last line of its output, and exits 0 either way."""
    seconds: float


def sam_environment() -> dict[str, str]:
    environment = {name: value for name, value in os.environ.items() if name not in _UNSET}
    return environment | CREDENTIALS | {"SAM_CLI_TELEMETRY": "0"}


def _sam(arguments: list[str], log: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    sam = shutil.which("sam")
    if sam is None:
        raise SamError(
            "no sam on PATH: run this through `make invoke`, which sets up the SAM CLI and Docker "
            "(scripts/with-sam-local), or install both"
        )
    try:
        result = subprocess.run(  # noqa: S603 -- the SAM CLI, with arguments built here
            [sam, *arguments],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            env=sam_environment(),
        )
    except subprocess.TimeoutExpired as error:
        raise SamError(f"sam {arguments[0]} took more than {timeout_s:.0f} s") from error
    log.write_text(f"$ sam {' '.join(arguments)}\n{result.stdout}\n{result.stderr}")
    if result.returncode != 0:
        last = [line for line in result.stderr.splitlines() if line.strip()][-1:] or ["(no output)"]
        raise SamError(f"sam {arguments[0]} failed (exit {result.returncode}): {last[0]} (its log: {log})")
    return result


def sam_build(log: Path) -> None:
    """`sam build --cached`: rebuilds only what changed (the layers' sources are followed through
    their links), about 7 s when nothing did."""
    _sam(["build", "--cached"], log, timeout_s=900)


def sam_local_invoke(function: str, event: Path, env_vars: Path, log: Path) -> Invocation:
    started = time.monotonic()
    result = _sam(["local", "invoke", function, "--event", str(event), "--env-vars", str(env_vars)], log, 600)
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise SamError(f"{function} gave no response (its log: {log})")
    try:
        response = json.loads(lines[-1])
    except json.JSONDecodeError as error:
        raise SamError(f"{function} answered something that is not JSON: {lines[-1][:200]}") from error
    return Invocation(response, time.monotonic() - started)

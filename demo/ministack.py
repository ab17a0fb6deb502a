"""ministack, the local AWS account of the demo and the e2e tests: started on 127.0.0.1, stopped
by its PID however the run ends."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from demo.processes import HOST, free_port, stop

__all__ = ["Ministack", "MinistackError", "running_ministack"]

ROOT = Path(__file__).resolve().parent.parent


class MinistackError(RuntimeError):
    """ministack is not installed, or did not start."""


@dataclass(frozen=True, slots=True)
class Ministack:
    url: str
    pid: int
    log: Path

    def environment(self) -> dict[str, str]:
        """What an AWS SDK or the SAM CLI needs to talk to this account, and only to it."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "SAM_CLI_TELEMETRY": "0",
        }


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_ministack/health", timeout=1):  # noqa: S310 (http://127.0.0.1 only)
            return True
    except (urllib.error.URLError, OSError):
        return False


def _wait_until_healthy(process: "subprocess.Popen[bytes]", url: str, log: Path, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not _healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            raise MinistackError(
                f"ministack (pid {process.pid}) did not become healthy at {url}; its log:\n"
                + log.read_text(errors="replace")[-4000:]
            )
        time.sleep(0.1)


@contextlib.contextmanager
def running_ministack(venv: Path | None = None, *, startup_timeout_s: float = 30.0) -> Iterator[Ministack]:
    """Start ministack from `venv` (default $MINISTACK_VENV or .venv-ministack) on a free port of
    127.0.0.1, in memory only; stop it by its PID when the block ends, however it ends.

    SIGTERM and SIGHUP end the block as Ctrl-C does, so a killed run stops ministack too.
    """
    venv = venv or Path(os.environ.get("MINISTACK_VENV", ROOT / ".venv-ministack"))
    python = venv / "bin" / "python"
    if not (venv / "bin" / "ministack").exists():
        raise MinistackError(
            f"no ministack in {venv}: run 'make ministack-venv' (or 'make demo', which makes it)"
        )
    port = free_port()
    url = f"http://{HOST}:{port}"
    descriptor, name = tempfile.mkstemp(prefix=f"ministack-{port}-", suffix=".log")
    log = Path(name)
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGTERM, signal.SIGHUP)}

    def interrupted(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    with os.fdopen(descriptor, "wb") as out:
        process = subprocess.Popen(  # noqa: S603 (our own script, in our own venv)
            [str(python), str(ROOT / "scripts" / "ministack_server.py")],
            # Fresh state each run, handlers run in local workers: whatever the caller's shell says.
            env={
                **os.environ,
                "BIND_HOST": HOST,
                "GATEWAY_PORT": str(port),
                "PERSIST_STATE": "0",
                "LAMBDA_EXECUTOR": "local",
            },
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches us, and we stop it: not both at once
        )
    try:
        for sig in previous:
            signal.signal(sig, interrupted)
        _wait_until_healthy(process, url, log, startup_timeout_s)
        yield Ministack(url=url, pid=process.pid, log=log)
    except BaseException:
        print(f"ministack's log: {log}", file=sys.stderr)
        raise
    else:
        log.unlink(missing_ok=True)
    finally:
        stop(process, group=True)
        for sig, handler in previous.items():
            signal.signal(sig, handler)

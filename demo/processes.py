"""The local servers this repository starts (ministack, a moto server, `sam local start-lambda`):
a free port of 127.0.0.1 to start one on, and a stop by its PID."""

import contextlib
import os
import signal
import socket
import subprocess

HOST = "127.0.0.1"


def free_port() -> int:
    """A port of 127.0.0.1 nothing listens on now: never one another run may be answering on."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def stop(process: "subprocess.Popen[bytes]", *, group: bool = False, grace_s: float = 5.0) -> None:
    """SIGTERM to the process (to its process group when it leads one, so its workers go too),
    SIGKILL after `grace_s`. A second Ctrl-C meanwhile is ignored, so that it cannot leave the
    server running."""
    send = os.killpg if group else os.kill
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        for sig, wait_s in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 5.0)):
            if process.poll() is not None:
                return
            with contextlib.suppress(ProcessLookupError):
                send(process.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=wait_s)
    finally:
        signal.signal(signal.SIGINT, previous)

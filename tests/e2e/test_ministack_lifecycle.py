"""The local account is stopped by its PID however a run ends: a failure, Ctrl-C, or a kill."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from demo.ministack import ROOT, Ministack, MinistackError, running_ministack
from tests.processes import alive


def test_a_failure_inside_the_run_stops_ministack_and_keeps_its_log() -> None:
    seen: list[Ministack] = []

    def failing_run() -> None:
        with running_ministack() as account:
            seen.append(account)
            assert alive(account.pid)
            raise RuntimeError("a step failed")

    with pytest.raises(RuntimeError, match="a step failed"):
        failing_run()
    pid, log = seen[0].pid, seen[0].log
    assert not alive(pid)
    assert log.exists()  # named on stderr, for the post-mortem
    log.unlink()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_ctrl_c_or_a_kill_of_the_run_stops_ministack(sig: signal.Signals, tmp_path: Path) -> None:
    script = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "from demo.ministack import running_ministack\n"
        "with running_ministack() as account:\n"
        "    print(account.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    env = {**os.environ, "TMPDIR": str(tmp_path)}  # where the kept log goes
    with subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as run:
        assert run.stdout is not None
        pid = int(run.stdout.readline())
        assert alive(pid)

        run.send_signal(sig)

        try:
            _, stderr = run.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            run.kill()
            raise
    assert run.returncode != 0
    assert "KeyboardInterrupt" in stderr
    assert not alive(pid)


def test_without_ministack_installed_the_error_says_how_to_get_it(tmp_path: Path) -> None:
    with pytest.raises(MinistackError, match="make ministack-venv"), running_ministack(tmp_path):
        pass

"""Processes the tests watch: a local server must be gone once its block ends."""

import os


def alive(pid: int) -> bool:
    """Whether a process of this PID still exists (it may be a zombie not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True

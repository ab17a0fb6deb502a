"""`error_message_pattern` searched with a time bound: a pattern that backtracks cannot hang a run.

Python's `re` backtracks: `(a+)+$` takes 30 s on 28 characters, twice as long per character more,
and holds the interpreter meanwhile (no thread, no signal can stop it). So the searches run in a
child interpreter, one per run, fed one message at a time; a search that takes longer than the bound
kills it, and the run stops, saying which pattern and why, with every message where it was.
A linear-time engine (RE2) would need a compiled dependency in the functions' layer.
"""

import queue
import struct
import subprocess
import sys
import threading
from types import TracebackType
from typing import IO, Final, Self

__all__ = ["PatternSearch", "PatternTimeoutError"]

_HEADER: Final = struct.Struct(">I")
# The child: read the pattern, then answer b"1" or b"0" for each text, until its input closes.
_CHILD: Final = """
import re, struct, sys
read, write = sys.stdin.buffer.read, sys.stdout.buffer
def frame():
    head = read(4)
    if len(head) < 4:
        sys.exit(0)
    return read(struct.unpack(">I", head)[0]).decode()
pattern = re.compile(frame())
while True:
    write.write(b"1" if pattern.search(frame()) else b"0")
    write.flush()
"""


class PatternTimeoutError(Exception):
    """A search took longer than the bound: the pattern backtracks on this text."""


class PatternSearch:
    """Searches of one pattern, each bounded by `timeout_s`. Thread-safe; close it (or use `with`)."""

    def __init__(self, pattern: str, *, timeout_s: float) -> None:
        self._pattern = pattern
        self._timeout_s = timeout_s
        self._lock = threading.Lock()
        self._broken: PatternTimeoutError | None = None
        # -I -S: no environment, no site packages: the child needs nothing but re.
        self._child = subprocess.Popen(  # noqa: S603 -- this interpreter, running the fixed script above
            [sys.executable, "-I", "-S", "-c", _CHILD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        assert self._child.stdin is not None  # noqa: S101 -- asked for above
        assert self._child.stdout is not None  # noqa: S101
        self._input: IO[bytes] = self._child.stdin
        # A reader thread, so that waiting for an answer can time out wherever pipes cannot be polled.
        self._answers: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, args=(self._child.stdout,), daemon=True).start()
        self._send(pattern)

    def search(self, text: str) -> bool:
        """Whether the pattern matches somewhere in `text`.

        Raises:
            PatternTimeoutError: the search took longer than the bound (then every later one does).
        """
        with self._lock:
            if self._broken is not None:
                raise self._broken
            self._send(text)
            try:
                answer = self._answers.get(timeout=self._timeout_s)
            except queue.Empty:
                self._broken = PatternTimeoutError(
                    f"error_message_pattern {self._pattern!r} took more than {self._timeout_s:g} s on one "
                    "error message: it backtracks (nested repeats such as (a+)+ do); simplify it"
                )
                self.close()
                raise self._broken from None
            return answer == b"1"

    def close(self) -> None:
        if self._child.poll() is None:
            self._child.kill()
        self._child.wait()
        self._input.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def _send(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self._input.write(_HEADER.pack(len(data)) + data)
        self._input.flush()

    def _read(self, output: IO[bytes]) -> None:
        while answer := output.read(1):
            self._answers.put(answer)
        output.close()

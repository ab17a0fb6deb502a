"""A run's progress on stderr while it runs: a rich bar on a terminal, a plain line every few seconds
anywhere else (a CI log), or nothing; the library's log (-v) printed clear of the bar."""

import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Final, Self

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console
from rich.progress import BarColumn, TextColumn, TimeElapsedColumn
from rich.progress import Progress as Bar
from rich.text import Text

from lambda_failure_toolkit.redrive.report import Progress
from lambda_failure_toolkit.redrive.request import LedgerSource, RedriveRequest

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

__all__ = ["Watch", "approximate_total", "library_log"]

_LINE_EVERY_S: Final = 10.0
"""Off a terminal, a progress line this often: a CI log shows the run is alive without a line per batch."""


class Watch:
    """Follows a run's progress (what it read so far) and shows it, if asked, while in its `with`."""

    def __init__(
        self,
        console: Console,
        *,
        show: bool,
        total: int | None,
        dry_run: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._console = console
        self._total = total or None  # 0 is not known: messages in flight are not counted
        self._dry_run = dry_run
        self._clock = clock
        self._lock = threading.Lock()
        self._bar = (
            Bar(
                BarColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=console,
                # The tool prints only between runs, to its own streams: leave sys.stdout/stderr alone.
                redirect_stdout=False,
                redirect_stderr=False,
            )
            if show and console.is_terminal
            else None
        )
        self._task = self._bar.add_task("", total=self._total) if self._bar is not None else None
        self._lines = show and self._bar is None
        self._line_at = -float("inf")
        self._written = ""
        self.last: Progress | None = None

    @property
    def read_any(self) -> bool:
        return self.last is not None and self.last.received > 0

    def __enter__(self) -> Self:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
            elif self._lines and self.last is not None:
                self._write(self._describe(self.last))

    def __call__(self, progress: Progress) -> None:
        with self._lock:
            if self.last is not None and _steps(progress) < _steps(self.last):
                return  # another worker's count, taken before the one shown: it would go backwards
            self.last = progress
            if self._bar is not None and self._task is not None:
                self._bar.update(
                    self._task, completed=progress.received, description=self._describe(progress)
                )
            elif self._lines and self._clock() - self._line_at >= _LINE_EVERY_S:
                self._write(self._describe(progress))
                self._line_at = self._clock()

    def line(self, text: str) -> None:
        """A line of its own, above the bar."""
        with self._lock:
            if self._bar is not None:
                self._bar.console.print(Text(text))
            else:
                self._console.file.write(text + "\n")

    def _write(self, text: str) -> None:
        if text != self._written:  # the end of a quick run: already said
            self._console.file.write(f"dlq: progress: {text}\n")
            self._console.file.flush()
            self._written = text

    def _describe(self, progress: Progress) -> str:
        read = f"{progress.received}/~{self._total}" if self._total else str(progress.received)
        moved = f"would move {progress.would_move}" if self._dry_run else f"moved {progress.moved}"
        return f"{read} read  {moved}  skipped {progress.skipped}  failed {progress.failed}"


def _steps(progress: Progress) -> int:
    """How far a run was: each count only grows, so of two counts the later has more steps."""
    return progress.received + progress.moved + progress.would_move + progress.skipped + progress.failed


class _LogLines(logging.Handler):
    """The library's log as lines on stderr, each with its fields."""

    _STANDARD: Final = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}

    def __init__(self, watch: Watch) -> None:
        super().__init__()
        self._watch = watch

    def emit(self, record: logging.LogRecord) -> None:
        fields = {k: v for k, v in vars(record).items() if k not in self._STANDARD}
        text = f"dlq: {record.levelname.lower()}: {record.getMessage()}"
        if fields:
            text += " " + json.dumps(fields, default=str, separators=(",", ":"))
        self._watch.line(text)


@contextlib.contextmanager
def library_log(watch: Watch, *, verbose: bool) -> Iterator[None]:
    """The library's log on stderr with -v, and nowhere otherwise (the report says what it would)."""
    library = logging.getLogger("lambda_failure_toolkit")
    handler = _LogLines(watch) if verbose else logging.NullHandler()
    saved = library.level, library.propagate
    library.addHandler(handler)
    library.setLevel(logging.INFO if verbose else logging.WARNING)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.level, library.propagate = saved


def approximate_total(sqs: "SQSClient", request: RedriveRequest) -> int | None:
    """What the run may read, for the bar: the source queue's depth, or the ledger ids asked for."""
    source = request.source
    if isinstance(source, LedgerSource):
        total = len(set(source.failure_ids)) or None
    else:
        try:
            attributes = sqs.get_queue_attributes(
                QueueUrl=source.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            total = int(attributes["ApproximateNumberOfMessages"])
        except (ClientError, BotoCoreError, KeyError, ValueError):
            return None  # the run itself says what is wrong with the queue
    if total is not None and request.max_messages is not None:
        total = min(total, request.max_messages)
    return total

"""A redrive's backup: every message or ledger entry a real run is about to deliver, as a JSON line
(its body, its message attributes, where it goes), written and flushed to disk before it is sent.

The delivery writes a batch's lines before its first send; a line that cannot be written fails the
batch (nothing of it is sent, it stays in its source) and stops the run. So the file holds every
message the run then moved, and perhaps a few it tried to move and could not (their target refused
them: the report lists them).
"""

import json
import os
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from lambda_failure_toolkit.redrive.work import Work

__all__ = ["Backup", "JsonLinesBackup"]


class Backup(Protocol):
    def write(self, source: str, works: list[Work]) -> None:
        """Write them durably, or raise OSError (then none of them may be delivered)."""


class JsonLinesBackup:
    """A new file (never one already there), one line a message, fsynced after each batch."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self._file: IO[str] = path.open("x", encoding="utf-8")
        self._lock = threading.Lock()

    def write(self, source: str, works: list[Work]) -> None:
        at = datetime.now(UTC).isoformat()
        lines = "".join(json.dumps(_line(source, work, at), ensure_ascii=False) + "\n" for work in works)
        with self._lock:
            self._file.write(lines)
            self._file.flush()
            os.fsync(self._file.fileno())
            self.written += len(works)

    def close(self) -> None:
        self._file.close()


def _line(source: str, work: Work, at: str) -> dict[str, object]:
    return {
        "backed_up_at": at,
        "source": source,
        "id": work.id,
        "failure_id": work.failure_id,
        "target": str(work.target),
        "body": work.body,
        # As the message was in its source: the copy sent may carry one more replay in `dlq.replays`.
        "message_attributes": work.attributes if work.source_attributes is None else work.source_attributes,
        "message_group_id": work.group_id,
        "message_deduplication_id": work.dedup_id,
        "trace_header": work.trace_header,
    }

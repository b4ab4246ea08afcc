"""Buffered writing of history records, one file per Locust process.

Writing a line per request would put a file write on every request's path; holding all
records until the end would lose them if the process is killed, and keep a live dashboard
blind. So records are buffered and appended in batches: when the buffer is full, when the
last flush is older than ``flush_interval_s`` (the Locust glue also flushes on a timer),
and at test stop and exit.

Without ``--processes`` Locust is one process and writes the operations file itself. With
``--processes N`` every worker writes ``operations.part-<tag>.jsonl`` beside it (tag: the
pid, known at fork time, unlike the worker index) and the runner merges the parts
(``merge.py``). Nothing here imports Locust.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

from scenarios.history import Record, to_json_line

PART_INFIX = ".part-"


def part_path(operations_path: Path, tag: str) -> Path:
    """``…/operations.jsonl`` → ``…/operations.part-<tag>.jsonl``."""
    return operations_path.with_name(
        f"{operations_path.stem}{PART_INFIX}{tag}{operations_path.suffix}"
    )


def process_path(operations_path: Path, *, multiprocess: bool, tag: str) -> Path:
    """Where one Locust process writes: the file itself, or its own part of it."""
    return part_path(operations_path, tag) if multiprocess else operations_path


class Recorder:
    """Collects records and appends them to ``path`` in batches; safe to flush from any greenlet."""

    def __init__(
        self,
        path: Path,
        *,
        max_buffer: int = 500,
        flush_interval_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.max_buffer = max_buffer
        self.flush_interval_s = flush_interval_s
        self._clock = clock
        self._buffer: list[str] = []
        self._last_flush = clock()
        self._lock = threading.Lock()
        self.written = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def add(self, record: Record) -> None:
        self._buffer.append(to_json_line(record))
        if len(self._buffer) >= self.max_buffer or self.due():
            self.flush()

    def due(self) -> bool:
        return self._clock() - self._last_flush >= self.flush_interval_s

    @property
    def pending(self) -> int:
        return len(self._buffer)

    def flush(self) -> int:
        """Append what is buffered; returns how many records were written."""
        with self._lock:
            lines, self._buffer = self._buffer, []
            self._last_flush = self._clock()
            if lines:
                with self.path.open("a", encoding="utf-8") as out:
                    out.write("".join(line + "\n" for line in lines))
                self.written += len(lines)
            return len(lines)

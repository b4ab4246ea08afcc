"""Merging the per-process operation files of a ``--processes N`` run into one history.

The runner calls ``merge_parts(operations_path)`` after Locust has exited. Records are
checked by parsing them (a torn or foreign line is an error naming its file and line), then
appended to ``operations.jsonl`` sorted by start time, after whatever it already holds
(the nemesis's fault records, say); the parts are removed once merged.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from scenarios.history import Fault, History, Record, to_json_line
from scenarios.load.recorder import PART_INFIX


def part_files(operations_path: Path) -> list[Path]:
    """The parts written beside ``operations_path``, in name order."""
    pattern = f"{operations_path.stem}{PART_INFIX}*{operations_path.suffix}"
    return sorted(operations_path.parent.glob(pattern))


def read_records(path: Path) -> tuple[Record, ...]:
    try:
        return History.from_jsonl(path.read_text(encoding="utf-8")).records
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from exc


def merged_records(paths: Iterable[Path]) -> list[Record]:
    """All records of ``paths``, ordered by start time (stable for equal starts)."""
    records = [record for path in paths for record in read_records(path)]
    return sorted(records, key=_start)


def merge_files(paths: Iterable[Path], out: Path) -> int:
    """Append the records of ``paths`` to ``out`` in start order; returns how many."""
    records = merged_records(paths)
    with out.open("a", encoding="utf-8") as sink:
        sink.write("".join(to_json_line(r) + "\n" for r in records))
    return len(records)


def merge_parts(operations_path: Path, *, remove: bool = True) -> int:
    """Fold every part of ``operations_path`` into it; returns how many records were added."""
    parts = part_files(operations_path)
    count = merge_files(parts, operations_path)
    if remove:
        for part in parts:
            part.unlink()
    return count


def _start(record: Record) -> float:
    return record.start if isinstance(record, Fault) else record.scheduled_at

"""What a run writes (operation records, scrapes, Locust's history, resource samples, fault
records), turned into InfluxDB points a tick at a time by ``Stream``.

Pure translation and file tailing, no timers: ``scenarios/live.py`` drives a ``Stream`` each
second during a run, and ``python -m scenarios.live`` does the same on its own.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import re
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dashboards import schema
from dashboards.influx import InfluxWriter, Point
from profiling.sampler import Sample as ResourceSample

SETTLE_S = 3.0
REFUSED_STATUS = 409
CUT_OFF = "cut-off"
OPERATIONS_GLOB = "operations*.jsonl"
LOCUST_HISTORY = "locust_stats_history.csv"
PERCENTILES = (50, 95, 99)
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


class Tail:
    """The complete lines appended to the files matching ``pattern`` since the last read.

    A line without its newline yet (a writer mid-batch) waits for the next read. Files are
    read in binary from an offset, so a multi-byte character cut at a read boundary is never
    decoded half.
    """

    def __init__(self, directory: Path, pattern: str) -> None:
        self.directory = directory
        self.pattern = pattern
        self.offsets: dict[Path, int] = {}

    def read(self) -> list[tuple[Path, str]]:
        out: list[tuple[Path, str]] = []
        for path in sorted(self.directory.glob(self.pattern)):
            offset = self.offsets.get(path, 0)
            try:
                with path.open("rb") as source:
                    source.seek(offset)
                    data = source.read()
            except OSError:
                continue
            cut = data.rfind(b"\n")
            if cut < 0:
                continue
            self.offsets[path] = offset + cut + 1
            text = data[:cut].decode("utf-8", errors="replace")
            out += [(path, line) for line in text.split("\n") if line.strip()]
        return out


def nearest_rank(sorted_values: Sequence[float], p: float) -> float:
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


@dataclass
class SecondStats:
    """Operation records grouped by the second they ended in, until that second is written."""

    pending: dict[int, dict[str, list[Mapping[str, Any]]]] = field(default_factory=dict)
    written_before: int = 0  # seconds before this one have been written
    late: int = 0
    unreadable: int = 0

    def add_line(self, line: str) -> None:
        try:
            record = json.loads(line)
            if record.get("type") != "op":
                return
            second = int(float(record["end"]))
        except (ValueError, TypeError, KeyError, AttributeError):
            self.unreadable += 1
            return
        if second < self.written_before:
            self.late += 1
            return
        self.pending.setdefault(second, defaultdict(list))[str(record.get("name"))].append(record)

    def take(self, before: float | None = None) -> list[Point]:
        """Points for every pending second that ended before ``before`` (all when None)."""
        ready = sorted(s for s in self.pending if before is None or s + 1 <= before)
        points = [
            point
            for second in ready
            for name, records in sorted(self.pending.pop(second).items())
            for point in [second_point(second, name, records)]
        ]
        if ready:
            self.written_before = max(self.written_before, ready[-1] + 1)
        return points


def second_point(second: int, operation: str, records: list[Mapping[str, Any]]) -> Point:
    counts = {"requests": len(records), "ok": 0, "refused": 0, "errors": 0, "unknown": 0}
    counts["cut_off"] = 0
    latencies = []
    for record in records:
        outcome = record.get("outcome")
        if outcome == CUT_OFF:
            counts["cut_off"] += 1
            continue
        if outcome == "ok":
            counts["ok"] += 1
        elif outcome == "fail" and record.get("status") == REFUSED_STATUS:
            counts["refused"] += 1
        else:
            counts["errors"] += 1
            counts["unknown"] += outcome == "unknown"
        scheduled = record.get("intended_start")
        scheduled = record["start"] if scheduled is None else scheduled
        latencies.append((float(record["end"]) - float(scheduled)) * 1000.0)
    fields: dict[str, float | int] = dict(counts)
    if latencies:
        latencies.sort()
        fields |= {f"p{p}_ms": nearest_rank(latencies, p) for p in PERCENTILES}
    return Point(schema.LOAD, fields, {"operation": operation}, float(second))


def metric_points(record: Mapping[str, Any]) -> list[Point]:
    """One scrape (``metrics.jsonl``'s record) as points: a measurement per sample name."""
    samples = record.get("samples")
    if not isinstance(samples, dict):
        return []
    t = float(record.get("t") or time.time())
    points = []
    for key, value in samples.items():
        name, _, labels = key.partition("{")
        if name.endswith(schema.SKIPPED_SUFFIXES) or not isinstance(value, int | float):
            continue
        tags = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in _LABEL.findall(labels)}
        points.append(Point(name, {schema.METRIC_FIELD: float(value)}, tags, t))
    return points


def resource_points(samples: Iterable[ResourceSample]) -> list[Point]:
    """A point per process sample; a priming sample has no CPU reading yet, so no such field."""
    points = []
    for s in samples:
        fields: dict[str, float | int] = {
            "rss_bytes": int(s.rss_bytes),
            "fds": int(s.fds),
            "threads": int(s.threads),
        }
        if s.cpu_percent is not None:
            fields["cpu_percent"] = float(s.cpu_percent)
        points.append(Point(schema.RESOURCES, fields, {"role": s.role, "pid": str(s.pid)}, s.t))
    return points


def users_points(lines: Iterable[str], header: list[str]) -> list[Point]:
    """Locust's ``_stats_history.csv`` rows for all requests (``Aggregated``): the user count."""
    points = []
    for row in csv.reader(io.StringIO("\n".join(lines))):
        record = dict(zip(header, row, strict=False))
        if record.get("Name") != "Aggregated":
            continue
        try:
            t, users = float(record["Timestamp"]), int(float(record["User Count"]))
        except (KeyError, ValueError):
            continue
        points.append(Point(schema.USERS, {"users": users}, {}, t))
    return points


def event(kind: str, title: str, text: str, t: float | None = None) -> Point:
    return Point(schema.EVENTS, {"title": title, "text": text}, {"kind": kind}, t or time.time())


@dataclass
class Stream:
    """Turns what a run writes into points, a tick at a time (every call of :meth:`tick`)."""

    writer: InfluxWriter
    operations_dir: Path
    metrics_path: Path | None = None
    locust_history: Path | None = None
    seconds: SecondStats = field(default_factory=SecondStats)
    faults_seen: dict[int, bool] = field(default_factory=dict)  # record index → end written

    def __post_init__(self) -> None:
        self.operations = Tail(self.operations_dir, OPERATIONS_GLOB)
        self.metrics = (
            Tail(self.metrics_path.parent, self.metrics_path.name) if self.metrics_path else None
        )
        self.users = (
            Tail(self.locust_history.parent, self.locust_history.name)
            if self.locust_history
            else None
        )
        self.users_header: list[str] | None = None

    def tick(self, now: float | None = None, *, final: bool = False) -> None:
        for _, line in self.operations.read():
            self.seconds.add_line(line)
        before = None if final else (now or time.time()) - SETTLE_S
        self.writer.write_all(self.seconds.take(before))
        if self.metrics is not None:
            for _, line in self.metrics.read():
                with contextlib.suppress(ValueError):
                    self.writer.write_all(metric_points(json.loads(line)))
        if self.users is not None:
            lines = [line for _, line in self.users.read()]
            if lines and self.users_header is None:
                self.users_header, lines = next(csv.reader([lines[0]])), lines[1:]
            if self.users_header:
                self.writer.write_all(users_points(lines, self.users_header))

    def faults(self, records: Sequence[Any]) -> None:
        """Fault windows as events: one when a fault starts, one when it ends."""
        for index, fault in enumerate(records):
            params = json.dumps(dict(fault.params), sort_keys=True) if fault.params else ""
            if index not in self.faults_seen:
                self.faults_seen[index] = False
                text = f"{fault.kind} on {fault.target or ''} {params}".strip()
                self.writer.write(event("fault", f"{fault.kind} on", text, fault.start))
            if fault.end is not None and not self.faults_seen[index]:
                self.faults_seen[index] = True
                self.writer.write(event("fault", f"{fault.kind} off", fault.kind, fault.end))

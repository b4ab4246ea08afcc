"""A run, streamed into InfluxDB while it happens, for the Grafana dashboards to show live.

What is written (``dashboards/schema.py`` names the measurements), each tagged with the
run's id, scenario and variant:

- the load's statistics per operation per second — counts by outcome and exact nearest-rank
  p50/p95/p99 of the operations that *ended* in that second (an operation is known once it
  has ended; the report's ``stats.csv`` groups by start instead). Locust appends its records
  about once a second, so a second is written once it is ``SETTLE_S`` old; a record that
  arrives later still is counted as late and left out (writing its second again would
  overwrite the point already written);
- Locust's user count, from its ``locust_stats_history.csv``;
- the service's ``/metrics`` as scraped into ``metrics.jsonl`` (tailed, not scraped again);
- resource samples per process, from the resource sampler as it takes them;
- the replica's lag behind the primary, each second;
- fault windows (from the nemesis) and phase changes, as annotation events.

Everything is read from what the run writes anyway, so streaming adds no work to the load's
path, and the writer (``dashboards/influx.py``) never blocks: a slow or absent InfluxDB costs
points, counted in ``summary.json``'s ``influx``, never the run.

``python -m scenarios.live`` runs the same stream on its own, for docker-compose.yml: it tails
the Locust workers' operation files, scrapes the service itself, and touches a heartbeat file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import math
import re
import sys
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards import schema
from dashboards.influx import DEFAULT_DATABASE, InfluxWriter, Point, ensure_database
from profiling.sampler import Sample as ResourceSample
from scenarios.beside import Companion, FaultSchedule, ResourceSampling, stop_task

if TYPE_CHECKING:
    from scenarios.variant import VariantRun

SETTLE_S = 3.0
TICK_S = 1.0
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


class ReplicaLag:
    """The replica's ``Seconds_Behind_Master``, each second, on a connection of its own."""

    def __init__(self, port: int) -> None:
        self.port = port

    def sample(self) -> float | None:
        from scenarios.stack import mariadb

        try:
            status = mariadb.slave_status(self.port)
        except Exception:  # a lag probe never fails a run; a gap in the chart says enough
            return None
        lag = (status or {}).get("Seconds_Behind_Master")
        return None if lag is None else float(lag)


# -- the companion: a run's variant, streamed -----------------------------------------------


class LiveStream(Companion):
    """Streams the variant into the lab's InfluxDB, when there is one (``scenarios/beside.py``)."""

    name = "influxdb"

    def __init__(self, run: VariantRun) -> None:
        self.url = run.context.stack.influx_url
        self.writer: InfluxWriter | None = None
        self.stream: Stream | None = None
        self.task: asyncio.Task[None] | None = None
        replica = run.context.stack.parts.get("replica")
        self.lag = ReplicaLag(replica.port) if replica and replica.port else None

    async def start(self, run: VariantRun) -> None:
        if not self.url:
            return
        await asyncio.to_thread(ensure_database, self.url, DEFAULT_DATABASE)
        ctx = run.context
        tags = {"run": ctx.run_dir.name, "scenario": ctx.scenario.name, "variant": run.variant.name}
        self.writer = InfluxWriter(self.url, DEFAULT_DATABASE, tags=tags).start()
        self.stream = Stream(
            self.writer,
            run.out,
            run.out / "metrics.jsonl",
            run.out / LOCUST_HISTORY,
        )
        for companion in run.companions:
            if isinstance(companion, ResourceSampling):
                companion.sampler.on_sample = self._resources
        self.writer.write(event("phase", "load", f"{run.variant.name}: load started"))
        warmup = run.workload.warmup_s if run.workload else 0
        if warmup:
            at = run.load_started + warmup
            self.writer.write(event("phase", "measured", f"{run.variant.name}: warm-up over", at))
        self.task = asyncio.create_task(self._every_second(run))

    def _resources(self, samples: list[ResourceSample]) -> None:
        if self.writer is not None:
            self.writer.write_all(resource_points(samples))

    async def _every_second(self, run: VariantRun) -> None:
        while True:
            await asyncio.sleep(TICK_S)
            self._tick(run)
            if self.lag is not None and self.writer is not None:
                lag = await asyncio.to_thread(self.lag.sample)
                if lag is not None:
                    self.writer.write(Point(schema.REPLICATION, {"lag_s": lag}, {}, time.time()))

    def _tick(self, run: VariantRun, *, final: bool = False) -> None:
        if self.stream is None:
            return
        self.stream.tick(final=final)
        for companion in run.companions:
            if isinstance(companion, FaultSchedule):
                self.stream.faults(companion.nemesis.records)

    async def load_ended(self, run: VariantRun) -> None:
        with contextlib.suppress(Exception):  # a failed tick only loses live points
            await stop_task(self.task)
        self._tick(run, final=True)
        if self.writer is not None:
            note = f"{run.variant.name}: load ended, waiting for the system to settle"
            self.writer.write(event("phase", "quiesce", note))

    def finish(self, run: VariantRun) -> None:
        if self.writer is None:
            return
        for companion in run.companions:
            if isinstance(companion, ResourceSampling) and companion.sampler.on_sample:
                companion.sampler.on_sample = None
        self.writer.write(event("phase", "done", f"{run.variant.name}: checked and stopped"))
        self.writer.close()

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        if not self.url:
            return {"influx": None}
        stats = self.writer.stats.to_dict() if self.writer else {}
        late = self.stream.seconds.late if self.stream else 0
        return {"influx": {"url": self.url, "database": DEFAULT_DATABASE, **stats, "late": late}}


def absent_note(influx_url: str | None) -> str:
    """What a run says about live streaming before its first variant."""
    if influx_url:
        return f"streaming live to InfluxDB {influx_url} (database {DEFAULT_DATABASE})"
    return (
        "InfluxDB is not installed (Debian package influxdb), so this run is not streamed "
        "live; its run directory is complete all the same"
    )


# -- python -m scenarios.live: the stream on its own (docker-compose.yml) -------------------


async def stream_forever(args: argparse.Namespace) -> None:
    import aiohttp

    from scenarios.scrape import scrape_once

    await asyncio.to_thread(ensure_database, args.influx_url, args.database)
    tags = {"run": args.run, "scenario": args.scenario, "variant": args.variant}
    operations = Path(args.operations)
    with InfluxWriter(args.influx_url, args.database, tags=tags) as writer:
        stream = Stream(writer, operations, None, operations / LOCUST_HISTORY)
        async with aiohttp.ClientSession() as session:
            while True:
                started = time.monotonic()
                stream.tick()
                if args.service_url:
                    writer.write_all(metric_points(await scrape_once(session, args.service_url)))
                if args.heartbeat:
                    await asyncio.to_thread(Path(args.heartbeat).touch)
                await asyncio.sleep(max(0.0, TICK_S - (time.monotonic() - started)))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.live",
        description="Stream operation files and the service's /metrics into InfluxDB.",
    )
    parser.add_argument("--influx-url", required=True)
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--operations", required=True, help="folder of operations*.jsonl")
    parser.add_argument("--service-url", default="", help="scrape its /metrics each second")
    parser.add_argument("--run", default="live", help="the run tag (the dashboards' $run)")
    parser.add_argument("--scenario", default="by-hand")
    parser.add_argument("--variant", default="default")
    parser.add_argument("--heartbeat", default="", help="a file touched every second")
    args = parser.parse_args(argv)
    try:
        asyncio.run(stream_forever(args))
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

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
The translation of files into points is ``scenarios/live_points.py``; this module drives it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashboards import schema
from dashboards.influx import DEFAULT_DATABASE, InfluxWriter, Point, ensure_database
from profiling.sampler import Sample as ResourceSample
from scenarios.beside import Companion, FaultSchedule, ResourceSampling
from scenarios.live_points import LOCUST_HISTORY, Stream, event, metric_points, resource_points
from service.jobs.tasks import stop_task

if TYPE_CHECKING:
    from scenarios.variant import VariantRun

TICK_S = 1.0


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

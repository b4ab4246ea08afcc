"""What runs beside a variant's load: samplers, scrapers, fault schedules.

Each is a ``Companion``: a small object with three hooks, every one optional, called by the
variant pipeline (``scenarios/variant.py``) at fixed moments:

    ``start(run)``       async, in the load's event loop: the apps are up and Locust has
                         just been started (``run.locust_pid``, ``run.load_started``); its
                         first request follows its imports, about a second later;
    ``load_ended(run)``  async, same loop: Locust has exited, so its last answer is in — the
                         place for a final scrape or for switching faults off;
    ``finish(run)``      after the checks (or on error), before the apps stop: write files
                         into ``run.out`` and stop threads;
    ``summary(run)``     fields this companion adds to ``summary.json``;
    ``service_env(run)`` environment the service is started with (a profiler's switch);
    ``after_stop(run)``  once the apps have stopped: files their exit completes (memray).

``companions_for(run)`` is the one list of them, in start order (they stop in reverse). Add
a new one there: an InfluxDB writer, a profiler, a leak sampler. Like Locust's event
listeners, a companion that raises is logged and recorded in ``summary.json``'s
``companion_errors``, and never stops the run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from profiling.leaks import process_verdicts
from profiling.machine import machine_load
from profiling.sampler import ProcessSampler, Sample, generator_bottleneck, lab_cpu
from profiling.workers import COLUMNS as WORKER_COLUMNS
from scenarios import rundir
from scenarios.faults.heartbeat import LagCsv, heartbeat_lag
from scenarios.load.routes import compare
from scenarios.nemesis import Nemesis
from scenarios.scrape import scrape_final, scrape_forever
from service.jobs.tasks import stop_task

if TYPE_CHECKING:
    from scenarios.variant import VariantRun


class Companion:
    """A thing that runs beside the load; override the hooks you need."""

    name = "companion"

    async def start(self, run: VariantRun) -> None:
        """The apps are up and Locust has just been started."""

    async def load_ended(self, run: VariantRun) -> None:
        """Locust has exited: every answer it will get is in."""

    def finish(self, run: VariantRun) -> None:
        """The variant is over (or failed): write files, stop threads."""

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        """Fields for ``summary.json``."""
        return {}

    def service_env(self, run: VariantRun) -> Mapping[str, str]:
        """Extra environment for the service's processes."""
        return {}

    def after_stop(self, run: VariantRun) -> None:
        """The apps have stopped."""


class ResourceSampling(Companion):
    """CPU, memory, fds and threads of every lab process, into ``resources.csv``, and the
    machine's CPU, steal and load average on the same tick, into ``machine.csv``. The
    service's workers and the providers get the detailed sample too (USS, sockets by
    state, each worker's own pool gauges, loop lag, collections and requests), into
    ``workers.csv``, and the leak verdict of every worker on every resource the scenario
    watches, into ``leaks.json``. Its summary is the generator verdict, the machine's load
    over the measured window and what sampling cost."""

    name = "resources"
    detail_roles = frozenset({"service", "psp", "idp"})

    def __init__(self, run: VariantRun) -> None:
        parts = run.context.stack.parts
        self.sampler = ProcessSampler(
            {name: part.pid for name, part in parts.items() if part.pid is not None},
            detail_roles=self.detail_roles,
        )

    async def start(self, run: VariantRun) -> None:
        for role, pid in {**run.apps.pids(), "locust": run.locust_pid}.items():
            self.sampler.add(role, pid)
        self.sampler.gauges_dir = run.apps.metrics_dir
        self.sampler.start()

    def worker_rows(self) -> tuple[dict[str, Any], ...]:
        return tuple(w.row() for w in list(self.sampler.workers))

    def finish(self, run: VariantRun) -> None:
        self.sampler.stop()
        rows = (s.row() for s in self.sampler.samples)
        rundir.write_csv(run.out / "resources.csv", rundir.RESOURCE_COLUMNS, rows)
        machine = (m.row() for m in self.sampler.machine_samples)
        rundir.write_csv(run.out / "machine.csv", rundir.MACHINE_COLUMNS, machine)
        workers = self.worker_rows()
        rundir.write_csv(run.out / "workers.csv", WORKER_COLUMNS, workers)
        resources = run.context.scenario.leak_resources
        start, end = run.window.warmup_end, run.window.load_end
        leaks = {
            "resources": list(resources),
            "window": {"start": start, "end": end},
            "verdicts": process_verdicts(workers, resources, start, end),
        }
        rundir.write_json(run.out / "leaks.json", leaks)

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        window = (run.window.warmup_end, run.window.load_end)
        samples, machine = self.sampler.samples, self.sampler.machine_samples
        bottleneck = generator_bottleneck(samples, machine, window)
        return {
            "generator_bottleneck": bottleneck.saturated,
            "generator_evidence": bottleneck.evidence,
            "generator_cpu_busy_share": round(bottleneck.busy_share, 4),
            "generator_cpu_peak_percent": round(bottleneck.peak_cpu_percent, 1),
            "machine": machine_load(machine, lab_cpu(samples), window),
            "server_cpu_percent_mean": server_cpu(samples, window),
            "sampler": self.sampler.cost(),
        }


SERVERS = ("primary", "replica")


def server_cpu(samples: Iterable[Sample], window: tuple[float, float]) -> dict[str, float]:
    """The database servers' mean CPU (% of a core) over the measured window: where reads
    go shows here (the seed's story of a primary relieved by moving reads to a replica)."""
    readings: dict[str, list[float]] = {}
    for s in samples:
        if s.role in SERVERS and s.cpu_percent is not None and window[0] <= s.t <= window[1]:
            readings.setdefault(s.role, []).append(s.cpu_percent)
    return {role: round(sum(v) / len(v), 1) for role, v in sorted(readings.items())}


class MetricsScraping(Companion):
    """The service's ``/metrics`` each second, into ``metrics.jsonl``, and once more after
    Locust's last answer; that final scrape's counts go beside the client's per route."""

    name = "metrics"

    def __init__(self) -> None:
        self.task: asyncio.Task[None] | None = None
        self.final: dict[str, Any] = {}

    async def start(self, run: VariantRun) -> None:
        self.task = asyncio.create_task(
            scrape_forever(
                run.ports.service_url, run.out / "metrics.jsonl", on_record=run.progress.metrics
            )
        )

    async def load_ended(self, run: VariantRun) -> None:
        await stop_task(self.task)
        self.final = await scrape_final(run.ports.service_url, run.out / "metrics.jsonl")

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        samples = self.final.get("samples")
        return {
            "routes": compare(run.history.operations, samples),
            "final_scrape_error": self.final.get("error"),
        }


class FaultSchedule(Companion):
    """The scenario's nemesis; its fault records join the history. It acts on the apps as
    they run (worker pids, the fault proxy), so it is built when the load starts."""

    name = "nemesis"

    def __init__(self) -> None:
        self.nemesis: Nemesis | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, run: VariantRun) -> None:
        apps = run.apps
        targets = run.faults.context(run.ports.psp_url, apps.service_pid, apps.workers)
        self.nemesis = Nemesis(run.context.scenario.nemesis, targets)
        self.task = asyncio.create_task(self.nemesis.run(run.load_started))

    async def load_ended(self, run: VariantRun) -> None:
        with contextlib.suppress(Exception):  # a step's error is in nemesis.errors already
            await stop_task(self.task)
        if self.nemesis is not None:
            records = (f.to_dict() for f in self.nemesis.records)
            rundir.append_jsonl(run.operations_path, records)

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        return {"nemesis_errors": self.nemesis.errors if self.nemesis else []}


class ReplicationLag(Companion):
    """Heartbeat lag beside ``Seconds_Behind_Master``, into ``lag.csv`` as samples come
    (``scenarios/faults/heartbeat.py``); nothing without a replica."""

    name = "replication-lag"

    def __init__(self) -> None:
        self.csv: LagCsv | None = None
        self.task: asyncio.Task[None] | None = None

    async def start(self, run: VariantRun) -> None:
        self.csv = LagCsv(run.out / "lag.csv")
        faults = run.faults
        self.task = asyncio.create_task(
            heartbeat_lag(faults.primary_port, faults.replica_port, self.csv.add)
        )

    async def load_ended(self, run: VariantRun) -> None:
        await stop_task(self.task)

    def finish(self, run: VariantRun) -> None:
        if self.csv is not None:
            self.csv.close()


def companions_for(run: VariantRun) -> list[Companion]:
    """Everything that runs beside this variant's load, in start order.

    The live stream to InfluxDB (``scenarios/live.py``) comes first so that it winds up
    last: after the final scrape and the fault records, which it streams too.
    """
    from scenarios.knee import knee_finding_for
    from scenarios.live import LiveStream
    from scenarios.profilers import profiler_for

    profiler = profiler_for(run.context.scenario.profile, run.context.scenario.profile_native)
    knee = knee_finding_for(run)
    return [
        LiveStream(run),
        ResourceSampling(run),
        MetricsScraping(),
        ReplicationLag(),
        FaultSchedule(),
        *([profiler] if profiler is not None else []),
        *([knee] if knee is not None else []),
    ]

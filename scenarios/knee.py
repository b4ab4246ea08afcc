"""The knee of a step load, found from the run's own evidence (a companion of step-shaped
variants, ``scenarios/beside.py``), into ``knee.json``:

    {"steps": [{users, start, end, throughput, throughput_se, p95_ms, evidence {…}}],
     "noise_z": how many standard errors the finder allowed,
     "knee": {users, throughput, p95_ms, reason, saturated_first, attribution, saturated_at}}

Each step of the shape is measured over its settled part (its first ``SETTLE_SHARE`` left
out): throughput is successful operations a second, p95 their latency from the intended
start. The evidence per step is the mean of what the samplers saw in it: pool waiters and
share of connections in use (each worker's own gauges, added up), InnoDB row-lock waits a
second (``Innodb_row_lock_waits``) and transactions waiting on a lock
(``information_schema.INNODB_TRX``), the workers' loop lag (the worst), CPU of the
busiest worker, of MariaDB, of Locust and of the machine. ``profiling/knee.py`` finds the
knee and names what saturated first.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import statistics
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

from profiling.knee import NOISE_Z, Knee, Step, find_knee
from scenarios import rundir
from scenarios.beside import Companion, ResourceSampling
from scenarios.history import Operation, Outcome
from scenarios.stack.stack import PRIMARY
from service import schema

if TYPE_CHECKING:
    from scenarios.variant import VariantRun

SETTLE_SHARE = 0.3
LOCK_SQL = (
    "SELECT (SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
    "WHERE VARIABLE_NAME = 'INNODB_ROW_LOCK_WAITS') AS waits, "
    "(SELECT COUNT(*) FROM information_schema.INNODB_TRX "
    "WHERE trx_state = 'LOCK WAIT') AS waiting"
)


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest-rank percentile."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))
    return ordered[min(len(ordered), rank) - 1]


def step_windows(t0: float, levels: Sequence[int], step_s: float) -> list[tuple[int, float, float]]:
    """(users, settled start, end) of every level."""
    return [
        (users, t0 + (i + SETTLE_SHARE) * step_s, t0 + (i + 1) * step_s)
        for i, users in enumerate(levels)
    ]


class StepFigures(NamedTuple):
    throughput: float
    throughput_se: float
    p95_ms: float | None


def step_figures(ops: Iterable[Operation], start: float, end: float) -> StepFigures:
    """Successes a second, the standard error of that mean from the whole seconds' counts
    (the step's own noise, which the knee finder weighs), and their p95 in ms."""
    done = [op for op in ops if start <= op.end < end and op.outcome is Outcome.OK]
    seconds = int(end - start)
    counts = [0] * seconds
    for op in done:
        second = int(op.end - start)
        if second < seconds:
            counts[second] += 1
    se = statistics.stdev(counts) / math.sqrt(seconds) if seconds >= 2 else 0.0
    p95 = percentile([op.latency_s * 1000 for op in done], 0.95)
    return StepFigures(len(done) / (end - start), se, p95)


def mean_within(points: Iterable[tuple[float, float]], start: float, end: float) -> float | None:
    values = [v for t, v in points if start <= t < end]
    return statistics.fmean(values) if values else None


def worker_evidence(rows: Sequence[Mapping[str, Any]]) -> dict[str, list[tuple[float, float]]]:
    """Per tick, the workers added up (pool) or the worst of them (lag, CPU)."""
    by_t: dict[float, list[Mapping[str, Any]]] = {}
    for row in rows:
        if row.get("kind") == "worker":
            by_t.setdefault(row["t"], []).append(row)
    out: dict[str, list[tuple[float, float]]] = {
        "pool_waiting": [],
        "pool_in_use_share": [],
        "loop_lag_s": [],
        "cpu_service_max": [],
    }
    for t, group in by_t.items():
        in_use = sum(r.get("pool_in_use") or 0 for r in group)
        size = sum(r.get("pool_max") or 0 for r in group)
        out["pool_waiting"].append((t, sum(r.get("pool_waiting") or 0 for r in group)))
        if size:
            out["pool_in_use_share"].append((t, in_use / size))
        out["loop_lag_s"].append((t, max(r.get("loop_lag_s") or 0 for r in group)))
        cpus = [r["cpu_percent"] for r in group if r.get("cpu_percent") is not None]
        if cpus:
            out["cpu_service_max"].append((t, max(cpus)))
    return out


def role_cpu(samples: Iterable[Any], role: str) -> list[tuple[float, float]]:
    total: dict[float, float] = {}
    for s in samples:
        if s.role == role and s.cpu_percent is not None:
            total[s.t] = total.get(s.t, 0.0) + s.cpu_percent
    return sorted(total.items())


def lock_rates(samples: Sequence[tuple[float, float, float]]) -> list[tuple[float, float]]:
    """Lock waits a second between consecutive readings of the cumulative counter."""
    return [
        (t1, max(0.0, (w1 - w0) / (t1 - t0)))
        for (t0, w0, _), (t1, w1, _) in itertools.pairwise(samples)
        if t1 > t0
    ]


class KneeFinding(Companion):
    name = "knee"

    def __init__(self, levels: Sequence[int], step_s: float) -> None:
        self.levels = list(levels)
        self.step_s = step_s
        self.locks: list[tuple[float, float, float]] = []
        self.task: asyncio.Task[None] | None = None
        self.knee: Knee | None = None

    async def start(self, run: VariantRun) -> None:
        self.task = asyncio.create_task(self._sample_locks(run))

    async def _sample_locks(self, run: VariantRun) -> None:
        def read() -> tuple[float, float]:
            with schema.connect(run.settings.db_admin) as conn, conn.cursor() as cur:
                cur.execute(LOCK_SQL)
                waits, waiting = cur.fetchone()
                return float(waits), float(waiting)

        while True:
            with contextlib.suppress(Exception):  # a lost reading is a gap, not a failure
                waits, waiting = await asyncio.to_thread(read)
                self.locks.append((time.time(), waits, waiting))
            await asyncio.sleep(1.0)

    async def load_ended(self, run: VariantRun) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    def finish(self, run: VariantRun) -> None:
        sampling = next((c for c in run.companions if isinstance(c, ResourceSampling)), None)
        series: dict[str, list[tuple[float, float]]] = {}
        if sampling is not None:
            series |= worker_evidence(sampling.worker_rows())
            samples = list(sampling.sampler.samples)
            series["cpu_mariadb"] = role_cpu(samples, PRIMARY)
            series["cpu_locust"] = role_cpu(samples, "locust")
            series["cpu_machine"] = [(m.t, m.cpu_percent) for m in sampling.sampler.machine_samples]
        series["lock_waits_per_s"] = lock_rates(self.locks)
        series["lock_waiting_trx"] = [(t, w) for t, _, w in self.locks]
        ops = run.history.operations
        steps, rows = [], []
        for users, start, end in step_windows(run.window.load_start, self.levels, self.step_s):
            figures = step_figures(ops, start, end)
            evidence = {
                name: round(value, 4)
                for name, points in series.items()
                if (value := mean_within(points, start, end)) is not None
            }
            steps.append(
                Step(users, figures.throughput, figures.p95_ms, evidence, figures.throughput_se)
            )
            rows.append(
                {
                    "users": users,
                    "start": start,
                    "end": end,
                    "throughput": round(figures.throughput, 3),
                    "throughput_se": round(figures.throughput_se, 3),
                    "p95_ms": figures.p95_ms,
                    "evidence": evidence,
                }
            )
        self.knee = find_knee(steps)
        found = {"steps": rows, "noise_z": NOISE_Z, "knee": self.knee.to_dict()}
        rundir.write_json(run.out / "knee.json", found)

    def summary(self, run: VariantRun) -> Mapping[str, Any]:
        if self.knee is None:
            return {}
        return {"knee": self.knee.to_dict()}


def knee_finding_for(run: VariantRun) -> KneeFinding | None:
    """Only a step shape has steps to find a knee in."""
    shape = run.workload.shape if run.workload is not None else None
    if shape is None or type(shape).__name__ != "StepShape":
        return None
    stages = shape.plan()  # a jump then a hold, per level
    levels = [s.target for s in stages[1::2]]
    step_s = stages[1].duration_s if len(stages) > 1 else 0.0
    return KneeFinding(levels, step_s) if step_s > 0 else None

"""Resource samples of the lab's processes (CPU, memory, file descriptors, threads) and of
the machine as a whole (CPU, steal, load average).

A role (``locust``, ``service``, ``mariadb`` …) names a process and, for supervisors like
``python -m service --workers N``, its children too: each sample row is one process, so a
report can add workers up or show them apart. psutil's ``cpu_percent`` is measured between
two calls on the same ``Process`` object, so processes are kept between samples; the first
call only primes the counter (psutil answers 0.0), so a process's first sample has no CPU
reading (``None``) rather than a false zero. The machine is sampled on the same tick
(``profiling.machine``), so its CPU can be set against the lab's own.

Processes of the roles in ``detail_roles`` (the service's workers, the providers) get a
detailed sample too (``profiling.workers``: USS, sockets by state, the worker's own
gauges), the input of the leak verdicts. The sampler counts its own cost (the CPU time of
its thread and the wall time of each tick), so a report can show what leaving it on costs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from profiling.machine import MachineSample, MachineSampler
from profiling.workers import WorkerSample, detailed_values, socket_census

COLUMNS = ("t", "role", "pid", "cpu_percent", "rss_bytes", "fds", "threads")


@dataclass(frozen=True)
class Sample:
    t: float
    role: str
    pid: int
    cpu_percent: float | None  # None: the priming call, no reading yet
    rss_bytes: int
    fds: int
    threads: int

    def row(self) -> dict[str, float | int | str]:
        return {name: getattr(self, name) for name in COLUMNS}


@dataclass
class ProcessSampler:
    """Samples every role's process tree each ``interval_s`` on a background thread."""

    roots: Mapping[str, int]
    interval_s: float = 1.0
    on_sample: Callable[[list[Sample]], None] | None = None
    samples: list[Sample] = field(default_factory=list)
    machine: MachineSampler = field(default_factory=MachineSampler)
    detail_roles: frozenset[str] = frozenset()
    gauges_dir: Path | None = None
    workers: list[WorkerSample] = field(default_factory=list)
    ticks: int = 0
    cpu_cost_s: float = 0.0  # CPU time of the sampling thread, all ticks together
    wall_cost_s: float = 0.0
    # Sockets by state need the kernel's whole TCP table (tens of ms on a busy machine),
    # so they are counted every ``census_every`` ticks; the ticks between leave them empty.
    census_every: int = 3
    _census: dict[int, str] | None = None
    _children: dict[int, list[int]] = field(default_factory=dict)
    _known: dict[int, psutil.Process] = field(default_factory=dict)
    _primed_at: dict[int, float] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, role: str, pid: int) -> None:
        self.roots = {**self.roots, role: pid}

    @property
    def machine_samples(self) -> list[MachineSample]:
        return self.machine.samples

    def sample_once(self) -> list[Sample]:
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        now = time.time()
        self.machine.sample(now)
        census_due = self.detail_roles and self.ticks % self.census_every == 0
        self._census = socket_census() if census_due else None
        self._children = children_map()  # one walk of /proc a tick, not one per role
        batch = [s for role, pid in self.roots.items() for s in self._sample_tree(now, role, pid)]
        self.samples.extend(batch)
        self.ticks += 1
        self.cpu_cost_s += time.thread_time() - cpu0
        self.wall_cost_s += time.perf_counter() - wall0
        if self.on_sample is not None:
            self.on_sample(batch)
        return batch

    def cost(self) -> dict[str, Any]:
        """What sampling cost: CPU seconds of its thread, per tick and as a share of a core
        over the time it ran."""
        if self.ticks == 0:
            return {"ticks": 0}
        span = max(self.interval_s, self.ticks * self.interval_s)
        return {
            "ticks": self.ticks,
            "cpu_s": round(self.cpu_cost_s, 4),
            "cpu_ms_per_tick": round(1000 * self.cpu_cost_s / self.ticks, 3),
            "wall_ms_per_tick": round(1000 * self.wall_cost_s / self.ticks, 3),
            "core_share": round(self.cpu_cost_s / span, 5),
        }

    def _sample_tree(self, now: float, role: str, pid: int) -> Iterable[Sample]:
        try:
            root = self._process(pid, now)
            tree = [root, *(psutil.Process(c) for c in descendants(pid, self._children))]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return []
        out = []
        for proc in tree:
            try:
                proc = self._process(proc.pid, now)
                fresh = self._primed_at.get(proc.pid) == now
                with proc.oneshot():
                    sample = Sample(
                        t=now,
                        role=role,
                        pid=proc.pid,
                        cpu_percent=None if fresh else proc.cpu_percent(None),
                        rss_bytes=proc.memory_info().rss,
                        fds=proc.num_fds(),
                        threads=proc.num_threads(),
                    )
                out.append(sample)
                if role in self.detail_roles:
                    self._sample_detail(sample, proc, is_parent=proc.pid == pid and len(tree) > 1)
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._known.pop(proc.pid, None)
        return out

    def _sample_detail(self, sample: Sample, proc: psutil.Process, is_parent: bool) -> None:
        values = detailed_values(proc, self.gauges_dir, self._census)
        if values.get("pool_max"):  # a pool of its own: it serves requests
            kind = "worker"
        elif is_parent:
            kind = "supervisor"
        else:
            kind = "process"
        self.workers.append(
            WorkerSample(sample.t, sample.role, sample.pid, kind, sample.cpu_percent, values)
        )

    def _process(self, pid: int, now: float) -> psutil.Process:
        proc = self._known.get(pid)
        if proc is None or not proc.is_running():
            proc = psutil.Process(pid)
            proc.cpu_percent(None)  # primes the counter; the next call measures
            self._known[pid] = proc
            self._primed_at[pid] = now
        return proc

    def start(self) -> None:
        self.sample_once()
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """On a fixed beat (a slow tick does not push every later one back)."""
        beat = time.monotonic()
        while True:
            beat = max(beat + self.interval_s, time.monotonic())
            if self._stop.wait(beat - time.monotonic()):
                return
            self.sample_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 5)


def children_map() -> dict[int, list[int]]:
    """Every process's children, from one pass over the process table."""
    out: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        out.setdefault(proc.info["ppid"], []).append(proc.pid)
    return out


def descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    found, stack = [], list(children.get(pid, ()))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, ()))
    return found


@dataclass(frozen=True)
class Bottleneck:
    """Whether the load generator, not the service, set the pace of a run."""

    saturated: bool
    busy_share: float
    peak_cpu_percent: float
    evidence: str
    machine_saturated_share: float = 0.0


def lab_cpu(samples: Iterable[Sample]) -> dict[float, float]:
    """The lab's processes' CPU (% of a core, summed) at each sample time."""
    total: dict[float, float] = {}
    for s in samples:
        if s.cpu_percent is not None:
            total[s.t] = total.get(s.t, 0.0) + s.cpu_percent
    return total


def _within(t: float, window: tuple[float, float] | None) -> bool:
    return window is None or window[0] <= t <= window[1]


def generator_bottleneck(
    samples: Iterable[Sample],
    machine: Iterable[MachineSample] = (),
    window: tuple[float, float] | None = None,
    role: str = "locust",
    *,
    busy_percent: float = 90.0,
    max_busy_share: float = 0.2,
) -> Bottleneck:
    """Did the generator keep up? Two ways it may not, either one enough:

    - its own process pinned near 100% of a core (Locust uses one core per process) for
      more than ``max_busy_share`` of the samples;
    - the machine saturated (all cores ≥ ``busy_percent`` busy, steal included) for more
      than that share: the generator then waits for CPU whatever its own reading says.

    Only samples within ``window`` (the measured load) count, and never a priming one.
    """
    per_time: dict[tuple[float, int], float] = {}
    for s in samples:
        if s.role == role and s.cpu_percent is not None and _within(s.t, window):
            per_time[(s.t, s.pid)] = s.cpu_percent
    busy_cores = [m.cpu_percent for m in machine if _within(m.t, window)]
    machine_share = (
        sum(1 for v in busy_cores if v >= busy_percent) / len(busy_cores) if busy_cores else 0.0
    )
    machine_text = (
        f"the machine was ≥{busy_percent:.0f}% busy in {machine_share:.0%} of "
        f"{len(busy_cores)} samples (mean {sum(busy_cores) / len(busy_cores):.0f}%)"
        if busy_cores
        else "no machine samples"
    )
    if not per_time:
        saturated = machine_share > max_busy_share
        evidence = f"no samples of {role}; {machine_text}"
        return Bottleneck(saturated, 0.0, 0.0, evidence, machine_share)
    values = list(per_time.values())
    busy = sum(1 for v in values if v >= busy_percent)
    share = busy / len(values)
    peak = max(values)
    saturated = share > max_busy_share or machine_share > max_busy_share
    evidence = (
        f"{role} processes were at ≥{busy_percent:.0f}% of a core in {share:.0%} of "
        f"{len(values)} samples (peak {peak:.0f}%); {machine_text}"
    )
    return Bottleneck(saturated, share, peak, evidence, machine_share)

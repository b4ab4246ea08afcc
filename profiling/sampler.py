"""Resource samples of the lab's processes: CPU, memory, file descriptors, threads.

A role (``locust``, ``service``, ``mariadb`` …) names a process and, for supervisors like
``python -m service --workers N``, its children too: each sample row is one process, so a
report can add workers up or show them apart. psutil's ``cpu_percent`` is measured between
two calls on the same ``Process`` object, so processes are kept between samples.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import psutil

COLUMNS = ("t", "role", "pid", "cpu_percent", "rss_bytes", "fds", "threads")


@dataclass(frozen=True)
class Sample:
    t: float
    role: str
    pid: int
    cpu_percent: float
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
    _known: dict[int, psutil.Process] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def add(self, role: str, pid: int) -> None:
        self.roots = {**self.roots, role: pid}

    def sample_once(self) -> list[Sample]:
        now = time.time()
        batch = [s for role, pid in self.roots.items() for s in self._sample_tree(now, role, pid)]
        self.samples.extend(batch)
        if self.on_sample is not None:
            self.on_sample(batch)
        return batch

    def _sample_tree(self, now: float, role: str, pid: int) -> Iterable[Sample]:
        try:
            root = self._process(pid)
            tree = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return []
        out = []
        for proc in tree:
            try:
                proc = self._process(proc.pid)
                with proc.oneshot():
                    out.append(
                        Sample(
                            t=now,
                            role=role,
                            pid=proc.pid,
                            cpu_percent=proc.cpu_percent(None),
                            rss_bytes=proc.memory_info().rss,
                            fds=proc.num_fds(),
                            threads=proc.num_threads(),
                        )
                    )
            except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
                self._known.pop(proc.pid, None)
        return out

    def _process(self, pid: int) -> psutil.Process:
        proc = self._known.get(pid)
        if proc is None or not proc.is_running():
            proc = psutil.Process(pid)
            proc.cpu_percent(None)  # primes the counter; the next call measures
            self._known[pid] = proc
        return proc

    def start(self) -> None:
        self.sample_once()
        self._thread = threading.Thread(target=self._run, name="process-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample_once()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.interval_s + 5)


@dataclass(frozen=True)
class Bottleneck:
    """Whether the load generator, not the service, set the pace of a run."""

    saturated: bool
    busy_share: float
    peak_cpu_percent: float
    evidence: str


def generator_bottleneck(
    samples: Iterable[Sample],
    role: str = "locust",
    *,
    busy_percent: float = 90.0,
    max_busy_share: float = 0.2,
) -> Bottleneck:
    """Locust runs one process per core at most; a process pinned near 100% of a core for
    more than ``max_busy_share`` of the samples means its numbers undercount the service."""
    per_time: dict[tuple[float, int], float] = {}
    for s in samples:
        if s.role == role:
            per_time[(s.t, s.pid)] = s.cpu_percent
    if not per_time:
        return Bottleneck(False, 0.0, 0.0, f"no samples of {role}")
    values = list(per_time.values())
    busy = sum(1 for v in values if v >= busy_percent)
    share = busy / len(values)
    peak = max(values)
    saturated = share > max_busy_share
    evidence = (
        f"{role} processes were at ≥{busy_percent:.0f}% of a core in {share:.0%} of "
        f"{len(values)} samples (peak {peak:.0f}%)"
    )
    return Bottleneck(saturated, share, peak, evidence)

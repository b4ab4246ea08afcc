"""The machine as a whole: CPU busy (steal included), steal, I/O wait and load average.

A generator that looks idle may still be starved: on a machine whose every core is busy
(other engineers' work, a noisy neighbour's steal) it waits for CPU whatever its own
reading says. So the machine is sampled beside the lab's processes, and the share of CPU
that none of them used is "other work".

psutil's ``cpu_times_percent(None)`` measures since its previous call; the first call only
primes it, so the sampler primes on creation and records from the second reading on.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import psutil

COLUMNS = ("t", "cpu_percent", "steal_percent", "iowait_percent", "load_1m", "cores")
SATURATED_PERCENT = 90.0


@dataclass(frozen=True)
class MachineSample:
    t: float
    cpu_percent: float  # of all cores: 100 = every core busy
    steal_percent: float
    iowait_percent: float
    load_1m: float
    cores: int

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MachineSampler:
    samples: list[MachineSample] = field(default_factory=list)

    def __post_init__(self) -> None:
        psutil.cpu_times_percent(None)

    def sample(self, now: float) -> MachineSample:
        times = psutil.cpu_times_percent(None)
        iowait = getattr(times, "iowait", 0.0)
        busy = max(0.0, min(100.0, 100.0 - times.idle - iowait))
        sample = MachineSample(
            t=now,
            cpu_percent=round(busy, 2),
            steal_percent=round(getattr(times, "steal", 0.0), 2),
            iowait_percent=round(iowait, 2),
            load_1m=os.getloadavg()[0],
            cores=psutil.cpu_count() or 1,
        )
        self.samples.append(sample)
        return sample


def machine_load(
    machine: Iterable[MachineSample],
    lab_cpu: Mapping[float, float],
    window: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """What the machine did over ``window``; ``lab_cpu`` is the lab's processes' CPU (in %
    of a core, summed) at each sample time, so ``other_cpu_cores_mean`` is the CPU, in
    cores, that other work took."""
    rows = [m for m in machine if window is None or window[0] <= m.t <= window[1]]
    if not rows:
        return {"samples": 0}
    cores = rows[-1].cores
    other = [
        max(0.0, m.cpu_percent / 100 * m.cores - lab_cpu[m.t] / 100) for m in rows if m.t in lab_cpu
    ]
    busy = [m.cpu_percent for m in rows]
    return {
        "samples": len(rows),
        "cores": cores,
        "cpu_percent_mean": round(sum(busy) / len(busy), 2),
        "cpu_percent_peak": max(busy),
        "saturated_share": round(sum(1 for v in busy if v >= SATURATED_PERCENT) / len(busy), 4),
        "steal_percent_peak": max(m.steal_percent for m in rows),
        "load_average_peak": max(m.load_1m for m in rows),
        "other_cpu_cores_mean": round(sum(other) / len(other), 3) if other else None,
    }

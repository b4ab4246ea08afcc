"""The knee of a step load: the user count where throughput stops growing while p95 climbs,
and which resource saturated first. Pure functions of per-step figures, no I/O.

A step load adds users every ``step_s``; each step is measured after it settles (its first
seconds, while users spawn and queues fill, are left out). Past the knee more users buy
no more throughput, only more waiting: Little's law with the service at capacity.

The knee is the first step whose throughput cannot be told from the best step's: within
``tolerance`` of it, or within ``noise_z`` standard errors of the difference (each step's
standard error from its per-second counts: on a two-core machine, steps of a plateau a
few seconds long differ by 10–15 % from noise alone, and a fixed 5 % calls such a plateau
"still growing"). It is the knee provided a later step shows p95 climbing (at least
``p95_rise`` times the knee's) — else there is no knee yet: either throughput still grows
at the last step, or latency never climbed. Attribution asks, per resource, the first step
at which it was saturated (its own threshold: pool waiters present, lock waits per second,
loop lag, a process near a whole core), and names the one saturated earliest, at or
before the knee.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

TOLERANCE = 0.05
NOISE_Z = 2.0
P95_RISE = 1.5


@dataclass(frozen=True)
class Step:
    """One step's measured figures; ``evidence`` holds the resources' readings (means over
    the step): ``pool_waiting``, ``pool_in_use_share``, ``lock_waits_per_s``,
    ``loop_lag_s``, ``cpu_service``, ``cpu_mariadb``, ``cpu_locust`` (% of one core)…
    ``throughput_se`` is the standard error of ``throughput`` (0 when not measured)."""

    users: int
    throughput: float
    p95_ms: float | None
    evidence: Mapping[str, float] = field(default_factory=dict)
    throughput_se: float = 0.0


@dataclass(frozen=True)
class Knee:
    users: int | None
    throughput: float | None
    p95_ms: float | None
    reason: str
    saturated_first: str | None = None
    attribution: str = ""
    saturated_at: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# Resource → (threshold, description): saturated when the step's reading reaches it.
SATURATION = {
    "pool_in_use_share": (0.9, "the database pool (≥90% of connections in use)"),
    "pool_waiting": (1.0, "the database pool (requests waiting for a connection)"),
    "lock_waits_per_s": (1.0, "InnoDB row locks (≥1 lock wait a second)"),
    "loop_lag_s": (0.1, "the workers' event loops (≥100 ms lag)"),
    "cpu_service_max": (85.0, "a service worker's CPU (≥85% of a core)"),
    "cpu_mariadb": (85.0, "MariaDB's CPU (≥85% of a core)"),
    "cpu_locust": (85.0, "Locust's CPU (≥85% of a core: the generator)"),
    "cpu_machine": (95.0, "the whole machine's CPU (≥95% of every core)"),
}


def allowance(step: Step, best: Step, tolerance: float, noise_z: float) -> float:
    """How far below the best a step may fall and still be taken for it."""
    noise = noise_z * math.hypot(step.throughput_se, best.throughput_se)
    return max(tolerance * best.throughput, noise)


def find_knee(
    steps: Sequence[Step],
    *,
    tolerance: float = TOLERANCE,
    p95_rise: float = P95_RISE,
    noise_z: float = NOISE_Z,
) -> Knee:
    steps = sorted(steps, key=lambda s: s.users)
    if len(steps) < 3:
        return Knee(None, None, None, f"{len(steps)} steps; a knee needs at least 3")
    top = max(steps, key=lambda s: s.throughput)
    best = top.throughput
    knee_index = next(
        i
        for i, s in enumerate(steps)
        if best - s.throughput <= allowance(s, top, tolerance, noise_z)
    )
    knee = steps[knee_index]
    if knee_index == len(steps) - 1:
        return Knee(
            None,
            None,
            None,
            f"throughput still grows at the last step ({knee.users} users, "
            f"{knee.throughput:.1f}/s): add users",
        )
    later = [s.p95_ms for s in steps[knee_index + 1 :] if s.p95_ms is not None]
    if knee.p95_ms is None or not later or max(later) < p95_rise * knee.p95_ms:
        return Knee(
            None,
            None,
            None,
            f"throughput levels off at {knee.users} users but p95 does not climb past "
            f"{p95_rise:g}× its {knee.p95_ms} ms there: no knee",
        )
    margin = allowance(knee, top, tolerance, noise_z)
    within = (
        f"{tolerance:.0%}"
        if margin <= tolerance * best
        else f"{noise_z:g} standard errors, {margin:.1f}/s,"
    )
    reason = (
        f"throughput peaks at {knee.throughput:.1f}/s from {knee.users} users (within "
        f"{within} of the best, {best:.1f}/s) while p95 climbs from "
        f"{knee.p95_ms:.0f} ms to {max(later):.0f} ms beyond it"
    )
    first, text, at = attribute(steps, knee.users)
    return Knee(knee.users, knee.throughput, knee.p95_ms, reason, first, text, at)


def attribute(steps: Sequence[Step], knee_users: int) -> tuple[str | None, str, dict[str, int]]:
    """Which resource saturated first: the earliest step (fewest users) at which each
    reached its threshold; ties go to the resource deepest past its threshold."""
    saturated_at: dict[str, int] = {}
    depth: dict[str, float] = {}
    for step in sorted(steps, key=lambda s: s.users):
        for name, (threshold, _) in SATURATION.items():
            value = step.evidence.get(name)
            if name in saturated_at or value is None or value < threshold:
                continue
            saturated_at[name] = step.users
            depth[name] = value / threshold
    if not saturated_at:
        return None, "nothing measured reached its saturation threshold", {}
    first = min(saturated_at, key=lambda n: (saturated_at[n], -depth[n]))
    description = SATURATION[first][1]
    where = "at or before" if saturated_at[first] <= knee_users else "only after"
    others = ", ".join(
        f"{SATURATION[n][1]} at {u} users" for n, u in sorted(saturated_at.items(), key=_by_users)
    )
    text = (
        f"{description} saturated first, at {saturated_at[first]} users ({where} the knee); "
        f"in order: {others}"
    )
    return first, text, saturated_at


def _by_users(item: tuple[str, int]) -> tuple[int, str]:
    return item[1], item[0]

"""Load-shape math: how many users at time t, and how fast to get there.

Pure functions of time, so the shapes are unit-tested without Locust; the Locust shape
class (``shapefile.py``) only asks ``plan.tick(run_time)`` once a second.

Every closed-model shape is a list of stages, as in k6: each stage ramps *linearly* from
the previous stage's target (0 before the first) to its own target over its duration; a
zero-duration stage is an instant jump. Spike and step are built from stages, so one
interpolation serves all three.

Locust's shape worker calls ``runner.start(users, spawn_rate)`` and blocks until that
many users are running. To follow a ramp rather than lag behind it, the spawn rate given
with each tick is the larger of the ramp's slope and the change over the last second, so
every tick's target is reached in about one second (jumps included).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

TICK_S = 1.0
MIN_SPAWN_RATE = 1.0


@dataclass(frozen=True)
class Stage:
    """Ramp linearly to ``target`` users over ``duration_s`` (0: jump at once)."""

    duration_s: float
    target: int


# The seed project's k6 profile: 16 minutes, peak 700 virtual users.
SEED_PROFILE: tuple[Stage, ...] = (
    Stage(120, 100),
    Stage(300, 500),
    Stage(300, 700),
    Stage(120, 500),
    Stage(120, 0),
)


def scaled(stages: Sequence[Stage], time_scale: float) -> tuple[Stage, ...]:
    """The same profile, faster (``time_scale`` < 1) or slower; user counts unchanged."""
    if time_scale <= 0:
        raise ValueError(f"time_scale must be positive, got {time_scale}")
    return tuple(Stage(s.duration_s * time_scale, s.target) for s in stages)


def total_duration(stages: Sequence[Stage]) -> float:
    return sum(s.duration_s for s in stages)


def users_at(stages: Sequence[Stage], t: float) -> float | None:
    """Users wanted at ``t`` seconds from the start (fractional); ``None`` once it is over."""
    if t < 0:
        return 0.0
    begin, previous = 0.0, 0.0
    for stage in stages:
        end = begin + stage.duration_s
        if t < end:
            return previous + (stage.target - previous) * (t - begin) / stage.duration_s
        begin, previous = end, float(stage.target)
    return None


def slope_at(stages: Sequence[Stage], t: float) -> float:
    """Users per second of the stage running at ``t`` (0 outside the profile)."""
    begin, previous = 0.0, 0.0
    for stage in stages:
        end = begin + stage.duration_s
        if begin <= t < end:
            return (stage.target - previous) / stage.duration_s
        begin, previous = end, float(stage.target)
    return 0.0


def stages_tick(stages: Sequence[Stage], t: float) -> tuple[int, float] | None:
    """Locust's ``(user_count, spawn_rate)`` at ``t``, or ``None`` to stop the test."""
    now = users_at(stages, t)
    if now is None:
        return None
    before = users_at(stages, t - TICK_S)
    change = abs(now - (before if before is not None else now))
    rate = max(abs(slope_at(stages, t)), change, MIN_SPAWN_RATE)
    return round(now), rate


@dataclass(frozen=True)
class StagesShape:
    """Explicit stages (e.g. the seed profile) under a time scale."""

    stages: tuple[Stage, ...]
    time_scale: float = 1.0

    def plan(self) -> tuple[Stage, ...]:
        return scaled(self.stages, self.time_scale)


@dataclass(frozen=True)
class SpikeShape:
    """A flash sale: a baseline, a sudden jump to a peak, a hold, a drop back, a tail.

    The rise and drop take a few seconds rather than zero, as real crowds do (and a
    1000-user jump in one tick would only measure how fast Locust spawns).
    """

    baseline_users: int
    peak_users: int
    ramp_s: float = 10.0
    baseline_s: float = 30.0
    rise_s: float = 2.0
    hold_s: float = 60.0
    drop_s: float = 2.0
    after_s: float = 30.0
    time_scale: float = 1.0

    def plan(self) -> tuple[Stage, ...]:
        stages = (
            Stage(self.ramp_s, self.baseline_users),
            Stage(self.baseline_s, self.baseline_users),
            Stage(self.rise_s, self.peak_users),
            Stage(self.hold_s, self.peak_users),
            Stage(self.drop_s, self.baseline_users),
            Stage(self.after_s, self.baseline_users),
        )
        return scaled(stages, self.time_scale)


@dataclass(frozen=True)
class StepShape:
    """Add ``step_users`` every ``step_s`` up to ``max_users``: throughput per step shows the knee.

    Each level, the last (``max_users``) included, lasts ``step_s``; then the test stops.
    """

    step_users: int
    step_s: float
    max_users: int
    time_scale: float = 1.0

    def plan(self) -> tuple[Stage, ...]:
        levels = math.ceil(self.max_users / self.step_users)
        stages: list[Stage] = []
        for level in range(1, levels + 1):
            users = min(level * self.step_users, self.max_users)
            stages += [Stage(0.0, users), Stage(self.step_s, users)]
        return scaled(stages, self.time_scale)


@dataclass(frozen=True)
class ArrivalShape:
    """Open model: ``rate_per_s`` iterations start per second, served by a pool of ``users``.

    The pool is all spawned at once and kept for the duration; the arrival schedule
    (``arrivals.py``), not the user count, sets the load. Too small a pool shows up as
    late iterations, whose latency counts from the intended start.
    """

    rate_per_s: float
    users: int
    duration_s: float
    time_scale: float = 1.0

    def plan(self) -> tuple[Stage, ...]:
        return (Stage(0.0, self.users), Stage(self.duration_s * self.time_scale, self.users))


@dataclass(frozen=True)
class ConstantShape:
    """A fixed number of users for a duration: Locust's own ``-u``/``-r``/``-t``, no shape class."""

    users: int
    spawn_rate: float
    duration_s: float


Shape = StagesShape | SpikeShape | StepShape | ArrivalShape | ConstantShape
SHAPE_KINDS: dict[str, type] = {
    "stages": StagesShape,
    "spike": SpikeShape,
    "step": StepShape,
    "arrival": ArrivalShape,
    "constant": ConstantShape,
}


def kind_of(shape: Shape) -> str:
    return next(name for name, cls in SHAPE_KINDS.items() if isinstance(shape, cls))


def needs_shape_class(shape: Shape | None) -> bool:
    """Whether Locust must run the workload's shape class (else ``-u``/``-r``/``-t`` or by hand)."""
    return shape is not None and not isinstance(shape, ConstantShape)


@dataclass(frozen=True)
class Plan:
    """What a Locust shape class asks each second."""

    stages: tuple[Stage, ...]

    @classmethod
    def of(cls, shape: Shape) -> Plan:
        if isinstance(shape, ConstantShape):
            return cls((Stage(0.0, shape.users), Stage(shape.duration_s, shape.users)))
        return cls(shape.plan())

    @property
    def duration_s(self) -> float:
        return total_duration(self.stages)

    @property
    def peak_users(self) -> int:
        return max((s.target for s in self.stages), default=0)

    def tick(self, t: float) -> tuple[int, float] | None:
        return stages_tick(self.stages, t)

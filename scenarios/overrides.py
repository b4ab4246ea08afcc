"""Command-line overrides of a scenario: duration, users, time scale, variants.

Each override means one thing whatever the load shape, and a shape that cannot honour it
is refused with a message saying what would work instead.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from scenarios.load.shapes import SEED_PROFILE
from scenarios.spec import Scenario, ScenarioError

USER_KEYS = {"constant": "users", "arrival": "users", "step": "max_users", "spike": "peak_users"}
DURATION_KEYS = {"constant": "duration_s", "arrival": "duration_s"}
SCALABLE = ("stages", "spike", "step", "arrival")


@dataclass(frozen=True)
class Overrides:
    duration_s: float | None = None
    users: int | None = None
    time_scale: float | None = None
    variants: tuple[str, ...] = ()

    def problems(self) -> list[str]:
        found = []
        if self.duration_s is not None and self.duration_s <= 0:
            found.append(f"--duration must be positive, got {self.duration_s:g}")
        if self.users is not None and self.users < 1:
            found.append(f"--users must be at least 1, got {self.users}")
        if self.time_scale is not None and self.time_scale <= 0:
            found.append(f"--time-scale must be positive, got {self.time_scale:g}")
        return found


def apply_overrides(scenario: Scenario, overrides: Overrides) -> Scenario:
    problems = overrides.problems()
    if problems:
        raise ScenarioError(scenario.name, problems)
    if overrides.variants:
        scenario = scenario.only(list(overrides.variants))
    shape = dict(scenario.workload.get("shape") or {})
    kind = str(shape.get("kind", "none"))
    problems = []
    if overrides.users is not None:
        problems += set_users(shape, kind, overrides.users)
    if overrides.duration_s is not None:
        if kind in DURATION_KEYS:
            shape[DURATION_KEYS[kind]] = overrides.duration_s
        else:
            problems.append(
                f"--duration applies to constant and arrival shapes; this scenario's shape is "
                f"{kind!r}: use --time-scale to stretch or shrink it"
            )
    if overrides.time_scale is not None:
        if kind in SCALABLE:
            shape["time_scale"] = overrides.time_scale
        else:
            problems.append(
                f"--time-scale applies to {', '.join(SCALABLE)} shapes; this scenario's shape "
                f"is {kind!r}: use --duration"
            )
    if problems:
        raise ScenarioError(scenario.name, problems)
    if not shape:
        return scenario
    return dataclasses.replace(scenario, workload={**scenario.workload, "shape": shape})


def set_users(shape: dict[str, Any], kind: str, users: int) -> list[str]:
    if kind in USER_KEYS:
        shape[USER_KEYS[kind]] = users
        return []
    stages = shape.get("stages")
    if kind == "stages" and stages == "seed":
        stages = [[stage.duration_s, stage.target] for stage in SEED_PROFILE]
    if kind == "stages" and isinstance(stages, list):
        peak = max((target for _, target in stages), default=0)
        if peak > 0:
            shape["stages"] = [
                [duration, round(target * users / peak)] for duration, target in stages
            ]
            return []
    return [f"--users cannot be applied to a {kind!r} shape; give the scenario a shape"]

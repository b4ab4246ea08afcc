"""A scenario is data, as in Jepsen: service settings, a workload, a nemesis, checkers and
an optional matrix of variants.

A scenario file (``scenarios/catalog/<name>.py``, or any ``./my_scenario.py``) defines one
module-level ``SCENARIO = Scenario(...)``. Variants run one after another, each on a freshly
reset database; a variant's ``settings`` and ``workload`` are merged over the scenario's.
Validation happens before anything starts and names every problem at once.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from scenarios.checks.slo import Slo
from scenarios.faults.kinds import FAULT_KINDS as FAULT_KIND_REGISTRY
from scenarios.load.workload import WorkloadError, parse_workload
from scenarios.rundir import safe_name
from service.config import ConfigError, Settings
from service.domain.venue import venue_layout

INVARIANTS = (
    "no-double-booking",
    "seat-counts-conserved",
    "no-hold-past-ttl",
    "money-conserved",
    "webhooks-applied-once",
    "no-event-lost",
)
SERVICE_INVARIANTS = (
    "no-double-booking",
    "seat-counts-conserved",
    "no-hold-past-ttl",
    "no-event-lost",
)
FAULT_KINDS = tuple(FAULT_KIND_REGISTRY)
SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))
RUNNER_OWNED_SETTINGS = frozenset(
    {
        "db_url",
        "replica_url",
        "db_admin_url",
        "redis_url",
        "amqp_url",
        "key_prefix",
        "public_url",
        "oidc_issuer",
        "psp_url",
    }
)


RUNNER_OWNED_WORKLOAD = frozenset({"service_url", "operations_path", "psp_url"})


def workload_problems(where: str, workload: Mapping[str, Any]) -> list[str]:
    """The workload as Locust will read it, with the runner's own fields filled in."""
    owned = sorted(set(workload) & RUNNER_OWNED_WORKLOAD)
    if owned:
        return [f"{where}: workload {', '.join(owned)} are set by the runner, not the scenario"]
    try:
        parse_workload({**workload, "service_url": "http://127.0.0.1", "operations_path": "-"})
    except WorkloadError as exc:
        return [f"{where}: workload.{exc}"]
    return []


class ScenarioError(ValueError):
    """The scenario cannot run as written; ``problems`` lists every reason."""

    def __init__(self, name: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"scenario {name!r} is invalid:\n  - " + "\n  - ".join(problems))


def frozen(mapping: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class Venue:
    """The seat map every variant starts from (the seed's arena by default)."""

    zones: int = 26
    rows: int | None = None
    seats_per_row: int = 100
    concerts: int = 1
    ticket_limit: int = 3
    base_price: int = 50_000

    def problems(self) -> list[str]:
        found = []
        try:
            venue_layout(self.zones, self.seats_per_row, self.rows)
        except ValueError as exc:
            found.append(f"venue: {exc}")
        if self.concerts < 1:
            found.append(f"venue: concerts must be at least 1, got {self.concerts}")
        if self.ticket_limit < 1:
            found.append(f"venue: ticket_limit must be at least 1, got {self.ticket_limit}")
        if self.base_price < 1:
            found.append(f"venue: base_price must be positive, got {self.base_price}")
        return found


@dataclass(frozen=True)
class Fault:
    """One nemesis step: at ``at_s`` after load starts, switch ``kind`` on for ``duration_s``."""

    at_s: float
    kind: str
    params: Mapping[str, Any] = field(default_factory=frozen)
    duration_s: float | None = None

    def problems(self, index: int) -> list[str]:
        where = f"nemesis[{index}] ({self.kind})"
        found = []
        if self.kind not in FAULT_KINDS:
            found.append(f"{where}: unknown kind; known: {', '.join(FAULT_KINDS)}")
        else:
            kind = FAULT_KIND_REGISTRY[self.kind]
            found += [f"{where}: {p}" for p in kind.problems(self.params, self.duration_s)]
        if self.at_s < 0:
            found.append(f"{where}: at_s must not be negative, got {self.at_s}")
        if self.duration_s is not None and self.duration_s <= 0:
            found.append(f"{where}: duration_s must be positive, got {self.duration_s}")
        return found


@dataclass(frozen=True)
class Variant:
    """One cell of the matrix. ``expect_violations`` names invariants this variant exists to
    break (``naive`` oversells): their checks pass only when the violation is observed."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=frozen)
    workload: Mapping[str, Any] = field(default_factory=frozen)
    expect_violations: tuple[str, ...] = ()
    description: str = ""


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    workload: Mapping[str, Any]
    settings: Mapping[str, Any] = field(default_factory=frozen)
    workers: int = 1
    venue: Venue = field(default_factory=Venue)
    nemesis: tuple[Fault, ...] = ()
    invariants: tuple[str, ...] = SERVICE_INVARIANTS
    slos: tuple[Slo, ...] = ()
    variants: tuple[Variant, ...] = ()
    quiesce_timeout_s: float = 60.0

    def matrix(self) -> tuple[Variant, ...]:
        return self.variants or (Variant("default"),)

    def variant_settings(self, variant: Variant) -> dict[str, Any]:
        return {**self.settings, **variant.settings}

    def variant_workload(self, variant: Variant) -> dict[str, Any]:
        return {**self.workload, **variant.workload}

    def only(self, names: list[str]) -> Scenario:
        """The scenario restricted to the named variants, in the given order."""
        by_name = {v.name: v for v in self.matrix()}
        unknown = [n for n in names if n not in by_name]
        if unknown:
            raise ScenarioError(
                self.name,
                [f"unknown variant(s) {', '.join(unknown)}; valid: {', '.join(by_name)}"],
            )
        return dataclasses.replace(self, variants=tuple(by_name[n] for n in names))

    def problems(self) -> list[str]:
        found: list[str] = []
        if not self.name:
            found.append("name must not be empty")
        else:
            try:
                safe_name(self.name)
            except ValueError as exc:
                found.append(f"name: {exc}")
        if self.workers < 1:
            found.append(f"workers must be at least 1, got {self.workers}")
        if self.quiesce_timeout_s <= 0:
            found.append(f"quiesce_timeout_s must be positive, got {self.quiesce_timeout_s}")
        found += self.venue.problems()
        for index, fault in enumerate(self.nemesis):
            found += fault.problems(index)
        found += [
            f"invariants: unknown {name!r}; known: {', '.join(INVARIANTS)}"
            for name in self.invariants
            if name not in INVARIANTS
        ]
        names = [v.name for v in self.matrix()]
        found += [
            f"variants: {n!r} appears twice" for n in sorted(set(names)) if names.count(n) > 1
        ]
        for variant in self.matrix():
            found += self._variant_problems(variant)
        return found

    def _variant_problems(self, variant: Variant) -> list[str]:
        where = f"variant {variant.name!r}"
        found = []
        try:
            safe_name(variant.name)
        except ValueError as exc:
            found.append(f"{where}: {exc}")
        settings = self.variant_settings(variant)
        unknown = sorted(set(settings) - SETTING_NAMES)
        if unknown:
            found.append(
                f"{where}: unknown setting(s) {', '.join(unknown)}; settings are the names "
                "of service.config.Settings fields, e.g. claim_strategy, hold_ttl_s"
            )
        owned = sorted(set(settings) & RUNNER_OWNED_SETTINGS)
        if owned:
            found.append(f"{where}: {', '.join(owned)} are set by the runner, not the scenario")
        if not unknown and not owned:
            try:
                Settings(**settings)
            except (ConfigError, TypeError) as exc:
                found.append(f"{where}: {exc}")
        found += workload_problems(where, self.variant_workload(variant))
        found += [
            f"{where}: expect_violations names unknown invariant {name!r}"
            for name in variant.expect_violations
            if name not in self.invariants
        ]
        return found

    def validate(self) -> Scenario:
        problems = self.problems()
        if problems:
            raise ScenarioError(self.name or "?", problems)
        return self

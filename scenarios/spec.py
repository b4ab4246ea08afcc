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
from typing import Any, get_type_hints

from profiling.workers import LEAK_RESOURCES
from scenarios.checks.catalog import INVARIANT_NAMES
from scenarios.checks.events import NO_EVENT_LOST, WEBHOOKS_APPLIED_ONCE
from scenarios.checks.holds import NO_HOLD_PAST_TTL
from scenarios.checks.leaks import NO_LEAK
from scenarios.checks.money import MONEY_CONSERVED
from scenarios.checks.seats import NO_DOUBLE_BOOKING, SEAT_COUNTS
from scenarios.checks.slo import Slo
from scenarios.faults.kinds import FAULT_KINDS as FAULT_KIND_REGISTRY
from scenarios.load.shapes import Plan
from scenarios.load.workload import Workload, WorkloadError, parse_workload
from scenarios.rundir import safe_name
from service.config import ConfigError, Settings
from service.domain.venue import venue_layout

# Every invariant a scenario may name, by the names the checkers give them.
INVARIANTS = INVARIANT_NAMES
SERVICE_INVARIANTS = (NO_DOUBLE_BOOKING, SEAT_COUNTS, NO_HOLD_PAST_TTL, NO_EVENT_LOST)
# A scenario whose buyers pay checks the money and the webhooks too.
PAYMENT_INVARIANTS = (*SERVICE_INVARIANTS, MONEY_CONSERVED, WEBHOOKS_APPLIED_ONCE)
# A soak checks that no worker leaks what it names in ``leak_resources`` too.
SOAK_INVARIANTS = (*SERVICE_INVARIANTS, NO_LEAK)
# The operations the buyers record (scenarios/load/users.py); paying buyers add the rest.
BUYER_OPERATIONS = ("sign_in", "browse", "zones", "seat_map", "hold", "reserve")
PAYING_OPERATIONS = ("payment", "checkout", "confirm")
FAULT_KINDS = tuple(FAULT_KIND_REGISTRY)
SETTING_NAMES = frozenset(f.name for f in dataclasses.fields(Settings))
SETTING_TYPES = get_type_hints(Settings)
SETTING_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}
# Settings that must be above zero; every other number must merely not be negative.
POSITIVE_SETTING_SUFFIXES = (
    "_interval_s",
    "_timeout_s",
    "_ttl_s",
    "_ttl_ms",
    "_pool_size",
    "_batch",
    "_bytes",
    "_backoff_s",
    "_per_hold",
)
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


PROFILERS = (None, "py-spy", "memray")
RUNNER_OWNED_WORKLOAD = frozenset({"service_url", "operations_path"})


def workload_problems(workload: Mapping[str, Any]) -> tuple[list[str], Workload | None]:
    """The workload as Locust will read it, with the runner's own fields filled in."""
    owned = sorted(set(workload) & RUNNER_OWNED_WORKLOAD)
    if owned:
        return [f"workload {', '.join(owned)} are set by the runner, not the scenario"], None
    try:
        parsed = parse_workload(
            {**workload, "service_url": "http://127.0.0.1", "operations_path": "-"}
        )
    except WorkloadError as exc:
        return [f"workload.{exc}"], None
    return [], parsed


def workload_operations(workload: Workload) -> tuple[str, ...]:
    return BUYER_OPERATIONS + (PAYING_OPERATIONS if workload.pay else ())


def settings_problems(settings: Mapping[str, Any]) -> list[str]:
    """Names, types and ranges first, each naming the setting; then ``Settings`` itself."""
    unknown = sorted(set(settings) - SETTING_NAMES)
    if unknown:
        return [
            f"unknown setting(s) {', '.join(unknown)}; settings are the names of "
            "service.config.Settings fields, e.g. claim_strategy, hold_ttl_s"
        ]
    owned = sorted(set(settings) & RUNNER_OWNED_SETTINGS)
    if owned:
        return [f"settings {', '.join(owned)} are set by the runner, not the scenario"]
    found = [p for name, value in settings.items() for p in setting_problems(name, value)]
    if found:
        return found
    try:
        Settings(**settings)
    except (ConfigError, TypeError) as exc:
        return [f"settings: {exc}"]
    return []


def setting_problems(name: str, value: Any) -> list[str]:
    kind = SETTING_TYPES[name]
    where = f"settings.{name}"
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    elif kind is str:
        ok = isinstance(value, str)
    else:
        ok = isinstance(value, set | frozenset) and all(isinstance(v, str) for v in value)
    if not ok:
        expected = SETTING_KIND_NAMES.get(kind, "a set of names, e.g. frozenset({'fd-leak'})")
        return [f"{where} must be {expected}, got {value!r}"]
    if kind in (int, float):
        if name.endswith(POSITIVE_SETTING_SUFFIXES) and value <= 0:
            return [f"{where} must be positive, got {value!r}"]
        if value < 0:
            return [f"{where} must not be negative, got {value!r}"]
    return []


def slo_problems(slo: Slo) -> list[str]:
    """Every threshold in its range: rates are shares in [0, 1], latencies positive."""
    where = f"slos ({slo.name})"
    found = []
    for attr in ("p50_ms", "p95_ms", "p99_ms"):
        value = getattr(slo, attr)
        if value is not None and not value > 0:
            found.append(f"{where}: {attr} must be positive, got {value!r}")
    for attr in ("max_error_rate", "min_success_rate"):
        value = getattr(slo, attr)
        if value is not None and not 0 <= value <= 1:
            found.append(f"{where}: {attr} is a share between 0 and 1, got {value!r}")
    if slo.min_throughput is not None and slo.min_throughput < 0:
        found.append(f"{where}: min_throughput must not be negative, got {slo.min_throughput!r}")
    if slo.min_samples < 1:
        found.append(f"{where}: min_samples must be at least 1, got {slo.min_samples!r}")
    bad = sorted(s for s in slo.expected_statuses if not 100 <= s <= 599)
    if bad:
        found.append(f"{where}: expected_statuses must be HTTP statuses, got {bad}")
    return found


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

    def where(self, index: int) -> str:
        return f"nemesis[{index}] ({self.kind})"

    def problems(self, index: int) -> list[str]:
        """What can be told from the fault alone: its kind, times and parameters."""
        where = self.where(index)
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

    def workload_problems(self, index: int, workload: Workload) -> list[str]:
        """What depends on the workload: whether the fault can act, and when the load ends."""
        where = self.where(index)
        found = []
        kind = FAULT_KIND_REGISTRY.get(self.kind)
        for need in kind.needs if kind else ():
            if not getattr(workload, need, False):
                found.append(
                    f'{where}: acts only when the workload\'s "{need}" is true, and it is not; '
                    f'set "{need}": true or the fault never acts'
                )
        if workload.shape is None:
            return found
        length = Plan.of(workload.shape).duration_s
        end = self.at_s + (self.duration_s or 0.0)
        if self.at_s >= length:
            found.append(
                f"{where}: at_s={self.at_s:g} is after the load ends (the shape lasts {length:g} s)"
            )
        elif end > length:
            found.append(
                f"{where}: ends at {end:g} s, after the load ends (the shape lasts "
                f"{length:g} s); shorten duration_s"
            )
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
    # What the ``no-leak`` invariant watches on every service worker (profiling/workers.py).
    leak_resources: tuple[str, ...] = ("uss_bytes", "fds")
    # ``py-spy`` or ``memray``: profile the service's workers (``--profile`` overrides).
    profile: str | None = None
    profile_native: bool = False  # native (C) frames too: ``--native``

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
        """Every problem at once; one shared by every variant is listed once, unprefixed."""
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
        found += [
            f"leak_resources: unknown {name!r}; known: {', '.join(LEAK_RESOURCES)}"
            for name in self.leak_resources
            if name not in LEAK_RESOURCES
        ]
        if self.profile not in PROFILERS:
            found.append(f"profile: unknown {self.profile!r}; known: py-spy, memray")
        for slo in self.slos:
            found += slo_problems(slo)
        names = [v.name for v in self.matrix()]
        found += [
            f"variants: {n!r} appears twice" for n in sorted(set(names)) if names.count(n) > 1
        ]
        per_variant = {v.name: self._variant_problems(v) for v in self.matrix()}
        several = len(per_variant) > 1 or not self.variants
        first = next(iter(per_variant.values()))
        shared = [p for p in first if all_have(per_variant, p)] if several else []
        found += shared
        for name, problems in per_variant.items():
            found += [f"variant {name!r}: {p}" for p in problems if p not in shared]
        return found

    def _variant_problems(self, variant: Variant) -> list[str]:
        found = []
        try:
            safe_name(variant.name)
        except ValueError as exc:
            found.append(f"name: {exc}")
        found += settings_problems(self.variant_settings(variant))
        problems, workload = workload_problems(self.variant_workload(variant))
        found += problems
        if workload is not None:
            for index, fault in enumerate(self.nemesis):
                found += fault.workload_problems(index, workload)
            operations = workload_operations(workload)
            found += [
                f"slos ({slo.name}): the workload records no operation {slo.operation!r}; "
                f"it records {', '.join(operations)}"
                for slo in self.slos
                if slo.operation is not None and slo.operation not in operations
            ]
        found += [
            f"expect_violations names unknown invariant {name!r}"
            for name in variant.expect_violations
            if name not in self.invariants
        ]
        return found

    def validate(self) -> Scenario:
        problems = self.problems()
        if problems:
            raise ScenarioError(self.name or "?", problems)
        return self


def all_have(per_variant: Mapping[str, list[str]], problem: str) -> bool:
    return all(problem in problems for problems in per_variant.values())

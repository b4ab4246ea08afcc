"""What a nemesis fault kind is: a name, a parameter schema, and on/off actions.

A kind's ``params`` is its schema (name → ``Param``: type, required or default, choices,
bounds), and ``problems(params, duration_s)`` names everything wrong with one step before
anything starts — so ``ticketlab validate`` can check a scenario's faults without running
them. ``schema()`` gives the same as a JSON-Schema-shaped dict for tools.

Actions receive a ``FaultContext`` (where the lab's parts are) and the step's parameters;
``on`` returns an ``Applied`` (a note for the history, and state its ``off`` needs). A kind
without ``off`` is instantaneous (a kill): its window lasts until its effect was observed.
Blocking work runs in a thread (``in_thread``), so the nemesis never stalls the load's
event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from scenarios.faults import processes
from scenarios.faults.lab import FaultProxy
from scenarios.stack.paths import LabPaths


@dataclass
class FaultContext:
    """Where the faults act: filled by the runner from the stack and the variant's apps."""

    psp_url: str
    paths: LabPaths | None = None
    primary_port: int | None = None
    replica_port: int | None = None
    service_pid: int | None = None
    service_workers: int = 2
    service_db_user: str | None = None
    proxy: FaultProxy | None = None

    def need(self, what: str) -> Any:
        value = getattr(self, what)
        if value is None:
            raise processes.FaultRefused(f"this run has no {what.replace('_', ' ')}")
        return value


@dataclass(frozen=True)
class Applied:
    note: str | None = None
    state: Any = None


OnAction = Callable[[FaultContext, Mapping[str, Any]], Awaitable[Applied]]
OffAction = Callable[[FaultContext, Mapping[str, Any], Any], Awaitable[str | None]]


@dataclass(frozen=True)
class Param:
    """One parameter: ``kind`` is ``int``, ``number``, ``string``, ``bool`` or ``object``."""

    kind: str
    doc: str
    required: bool = False
    default: Any = None
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    def problems(self, name: str, value: Any) -> list[str]:
        checks = {
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
            "string": lambda v: isinstance(v, str),
            "bool": lambda v: isinstance(v, bool),
            "object": lambda v: isinstance(v, Mapping),
        }
        if not checks[self.kind](value):
            article = "an" if self.kind in ("int", "object") else "a"
            return [f"{name} must be {article} {self.kind}, got {value!r}"]
        if self.choices and value not in self.choices:
            return [f"{name} must be one of {', '.join(map(str, self.choices))}, got {value!r}"]
        if self.minimum is not None and value < self.minimum:
            return [f"{name} must be at least {self.minimum:g}, got {value!r}"]
        if self.maximum is not None and value > self.maximum:
            return [f"{name} must be at most {self.maximum:g}, got {value!r}"]
        return []

    def schema(self) -> dict[str, Any]:
        types = {"int": "integer", "number": "number", "string": "string", "bool": "boolean"}
        out: dict[str, Any] = {"type": types.get(self.kind, "object"), "description": self.doc}
        if self.choices:
            out["enum"] = list(self.choices)
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.default is not None:
            out["default"] = self.default
        return out


@dataclass(frozen=True)
class FaultKind:
    name: str
    doc: str
    on: OnAction
    off: OffAction | None
    params: Mapping[str, Param] = field(default_factory=dict)
    open_params: bool = False  # the target checks its own parameters (the provider's faults)
    target: Callable[[Mapping[str, Any]], str] = lambda params: "lab"
    links: Callable[[Mapping[str, Any]], tuple[str, ...]] = lambda params: ()
    extra_checks: Callable[[Mapping[str, Any]], list[str]] = lambda params: []
    # Workload fields that must be true for the fault to act at all (faults at the payment
    # provider do nothing when no buyer pays).
    needs: tuple[str, ...] = ()

    @property
    def instantaneous(self) -> bool:
        return self.off is None

    def with_defaults(self, params: Mapping[str, Any]) -> dict[str, Any]:
        filled = {k: p.default for k, p in self.params.items() if p.default is not None}
        return {**filled, **params}

    def problems(self, params: Mapping[str, Any], duration_s: float | None) -> list[str]:
        """Everything wrong with one step of this kind, each naming the parameter."""
        found: list[str] = []
        if not isinstance(params, Mapping):
            return [f"params must be a mapping, got {params!r}"]
        if not self.open_params:
            unknown = sorted(set(params) - set(self.params))
            if unknown:
                known = ", ".join(self.params) or "none"
                found.append(
                    f"unknown parameter(s) {', '.join(unknown)}; {self.name} takes {known}"
                )
        for name, param in self.params.items():
            if name in params:
                found += param.problems(name, params[name])
            elif param.required:
                found.append(f"{name} is required ({param.doc})")
        if not found:
            found += self.extra_checks(params)
        if not self.instantaneous and duration_s is None:
            found.append(f"duration_s is required: {self.name} must be switched off again")
        return found

    def schema(self) -> dict[str, Any]:
        return {
            "description": self.doc,
            "type": "object",
            "properties": {name: p.schema() for name, p in self.params.items()},
            "required": [name for name, p in self.params.items() if p.required],
            "additionalProperties": self.open_params,
            "instantaneous": self.instantaneous,
        }


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)

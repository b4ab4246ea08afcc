"""The nemesis's fault kinds: each a name, a parameter schema, and on/off actions.

``FAULT_KINDS`` maps a kind's name to its ``FaultKind``. A kind's ``params`` is its schema
(name → ``Param``: type, required or default, choices, bounds), and ``problems(params,
duration_s)`` names everything wrong with one step before anything starts — so
``ticketlab validate`` can check a scenario's faults without running them. ``schema()``
gives the same as a JSON-Schema-shaped dict for tools.

Actions receive a ``FaultContext`` (where the lab's parts are) and the step's parameters;
``on`` returns an ``Applied`` (a note for the history, and state its ``off`` needs). A kind
without ``off`` is instantaneous (a kill): its window lasts until its effect was observed.
Blocking work runs in a thread, so the nemesis never stalls the load's event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from providers.psp.faults import Faults, FaultsError
from scenarios.faults import processes, replication
from scenarios.faults.lab import LINKS, REPLICATION, FaultProxy
from scenarios.faults.toxics import STREAMS, TOXIC_TYPES, ApiError, parse_toxic
from scenarios.stack.paths import LabPaths

ADMIN_TIMEOUT_S = 5.0
REPLICATION_TOXIC = "replication-delay"


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


async def _thread(function: Callable[..., Any], *args: Any) -> Any:
    return await asyncio.to_thread(function, *args)


# -- the payment provider -------------------------------------------------------------------


def _put_psp_faults(psp_url: str, params: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        f"{psp_url}/_lab/faults", data=json.dumps(dict(params)).encode(), method="PUT"
    )
    try:
        with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S):
            pass
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"the provider refused faults {dict(params)}: {detail}") from None


def psp_fault_problems(params: Mapping[str, Any]) -> list[str]:
    """The provider's own parser, so validation and ``PUT /_lab/faults`` agree exactly."""
    try:
        Faults.parse(to_plain(params))
    except FaultsError as exc:
        return [f"params.{exc}"]
    return []


def to_plain(value: Any) -> Any:
    """Mappings (a scenario's are read-only proxies) as dicts, all the way down."""
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    return value


async def psp_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await _thread(_put_psp_faults, ctx.psp_url, params)
    return Applied()


async def psp_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await _thread(_put_psp_faults, ctx.psp_url, {})


# -- the fault proxy ------------------------------------------------------------------------


def _toxic_body(params: Mapping[str, Any]) -> dict[str, Any]:
    body = {
        "type": params["type"],
        "stream": params.get("stream", "downstream"),
        "toxicity": params.get("toxicity", 1.0),
        "attributes": dict(params.get("attributes") or {}),
    }
    if params.get("name"):
        body["name"] = params["name"]
    return body


def _toxic_checks(params: Mapping[str, Any]) -> list[str]:
    try:
        parse_toxic(_toxic_body(params))
    except ApiError as exc:
        return [exc.message.removeprefix("bad request body: ")]
    return []


async def toxic_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    proxy = ctx.need("proxy")
    made = await _thread(proxy.client.add_toxic, params["proxy"], _toxic_body(params))
    return Applied(state=made["name"])


async def toxic_off(ctx: FaultContext, params: Mapping[str, Any], name: Any) -> None:
    await _thread(ctx.need("proxy").client.remove_toxic, params["proxy"], name)


async def down_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await _thread(ctx.need("proxy").client.set_enabled, params["proxy"], False)
    return Applied(note=f"{params['proxy']} connections dropped and refused")


async def down_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await _thread(ctx.need("proxy").client.set_enabled, params["proxy"], True)


# -- replication ----------------------------------------------------------------------------


async def delay_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await _thread(replication.set_master_delay, ctx.need("replica_port"), params["seconds"])
    return Applied()


async def delay_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await _thread(replication.set_master_delay, ctx.need("replica_port"), 0)


async def sql_stop_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await _thread(replication.stop_sql_thread, ctx.need("replica_port"))
    return Applied()


async def sql_stop_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await _thread(replication.start_sql_thread, ctx.need("replica_port"))


async def link_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    proxy = ctx.need("proxy")
    await _thread(replication.wait_connected, ctx.need("replica_port"))  # then, and only then
    toxic = {
        "name": REPLICATION_TOXIC,
        "type": "latency",
        "stream": "downstream",
        "attributes": {"latency": params["latency_ms"], "jitter": params.get("jitter_ms", 0)},
    }
    await _thread(proxy.client.add_toxic, REPLICATION, toxic)
    return Applied()


async def link_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await _thread(ctx.need("proxy").client.remove_toxic, REPLICATION, REPLICATION_TOXIC)


# -- processes and servers ------------------------------------------------------------------


async def kill_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    service, supervised = ctx.need("service_pid"), ctx.service_workers > 1
    before = processes.workers(service, supervised)
    pid = processes.pick_worker(service, params.get("worker", 0), supervised)
    processes.signal_worker(pid, signal.SIGKILL)
    wait_s = params.get("restart_wait_s", 10.0)
    restart = await _thread(processes.watch_restart, service, before, pid, wait_s, supervised)
    return Applied(note=restart.note(), state=restart)


async def pause_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    supervised = ctx.service_workers > 1
    pid = processes.pick_worker(ctx.need("service_pid"), params.get("worker", 0), supervised)
    processes.signal_worker(pid, signal.SIGSTOP)
    return Applied(note=f"worker {pid} paused (SIGSTOP)", state=pid)


async def pause_off(ctx: FaultContext, params: Mapping[str, Any], pid: Any) -> str:
    with contextlib.suppress(processes.FaultRefused):
        processes.signal_worker(pid, signal.SIGCONT)
    return f"worker {pid} resumed (SIGCONT)"


async def server_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    note = await _thread(processes.stop_server, ctx.need("paths"), params["server"])
    return Applied(note=note)


async def server_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> str:
    return await _thread(
        processes.start_server, ctx.need("paths"), params["server"], ctx.primary_port
    )


async def _kill_repeatedly(ctx: FaultContext, every_s: float, counts: list[int]) -> None:
    while True:
        await asyncio.sleep(every_s)
        with contextlib.suppress(Exception):
            counts.append(
                await _thread(processes.kill_connections, ctx.primary_port, ctx.service_db_user)
            )


async def kill_db_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    port, user = ctx.need("primary_port"), ctx.need("service_db_user")
    counts = [await _thread(processes.kill_connections, port, user)]
    task = None
    if params.get("every_s"):
        task = asyncio.create_task(_kill_repeatedly(ctx, params["every_s"], counts))
    return Applied(note=f"killed {counts[0]} connection(s) of {user}", state=(task, counts))


async def kill_db_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> str:
    task, counts = state
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    return f"killed {sum(counts)} connection(s) of {ctx.service_db_user} in {len(counts)} round(s)"


# -- the registry ---------------------------------------------------------------------------

_WORKER = Param("int", "which worker (by pid order; wraps around)", default=0, minimum=0)
_PROXY = Param("string", "which link of the fault proxy", required=True, choices=LINKS)

FAULT_KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for kind in (
        FaultKind(
            "psp-faults",
            "Replace the payment provider's fault set (its own schema), cleared when off.",
            psp_on,
            psp_off,
            open_params=True,
            target=lambda p: "psp",
            extra_checks=psp_fault_problems,
            needs=("pay",),
        ),
        FaultKind(
            "toxic",
            "A Toxiproxy toxic on one link through the fault proxy.",
            toxic_on,
            toxic_off,
            params={
                "proxy": _PROXY,
                "type": Param("string", "the toxic's type", required=True, choices=TOXIC_TYPES),
                "stream": Param("string", "direction", default="downstream", choices=STREAMS),
                "toxicity": Param("number", "share of connections hit", minimum=0, maximum=1),
                "attributes": Param("object", "the toxic's attributes (Toxiproxy's names)"),
                "name": Param("string", "the toxic's name (default <type>_<stream>)"),
            },
            target=lambda p: f"proxy:{p.get('proxy')}",
            links=lambda p: (p["proxy"],),
            extra_checks=_toxic_checks,
        ),
        FaultKind(
            "proxy-down",
            "A link through the fault proxy goes down: connections drop, new ones are refused.",
            down_on,
            down_off,
            params={"proxy": _PROXY},
            target=lambda p: f"proxy:{p.get('proxy')}",
            links=lambda p: (p["proxy"],),
        ),
        FaultKind(
            "replication-delay",
            "MASTER_DELAY on the replica (whole seconds; STOP/CHANGE/START SLAVE each way).",
            delay_on,
            delay_off,
            params={"seconds": Param("int", "the delay in seconds", required=True, minimum=1)},
            target=lambda p: "replica",
        ),
        FaultKind(
            "replication-sql-stop",
            "The replica's SQL thread stopped: lag grows without bound.",
            sql_stop_on,
            sql_stop_off,
            target=lambda p: "replica",
        ),
        FaultKind(
            "replication-link-delay",
            "Latency on the replication link (the replica reaches the primary through the "
            "fault proxy; the delay is set once it is connected).",
            link_on,
            link_off,
            params={
                "latency_ms": Param("int", "added latency", required=True, minimum=1),
                "jitter_ms": Param("int", "± jitter", default=0, minimum=0),
            },
            target=lambda p: "replication",
            links=lambda p: (REPLICATION,),
        ),
        FaultKind(
            "worker-kill",
            "SIGKILL one service worker; the note says whether the supervisor replaced it.",
            kill_on,
            None,
            params={
                "worker": _WORKER,
                "restart_wait_s": Param(
                    "number", "how long to watch for a replacement", default=10.0, minimum=0.1
                ),
            },
            target=lambda p: "service",
        ),
        FaultKind(
            "worker-pause",
            "SIGSTOP one service worker, SIGCONT when off.",
            pause_on,
            pause_off,
            params={"worker": _WORKER},
            target=lambda p: "service",
        ),
        FaultKind(
            "server-stop",
            "Stop one of the lab's own servers and start it again when off (a given URL or "
            "the machine's server is refused; for RabbitMQ use proxy-down on 'rabbitmq').",
            server_on,
            server_off,
            params={
                "server": Param(
                    "string", "which lab server", required=True, choices=("redis", "replica")
                )
            },
            target=lambda p: str(p.get("server")),
        ),
        FaultKind(
            "db-kill-connections",
            "KILL every MariaDB connection of the service's user on the primary; with "
            "every_s, again and again until off.",
            kill_db_on,
            kill_db_off,
            params={"every_s": Param("number", "repeat interval", minimum=0.1)},
            target=lambda p: "primary",
        ),
    )
}


def links_needed(steps: Any) -> set[str]:
    """The fault proxy's links a list of nemesis steps uses (empty: no proxy needed)."""
    needed: set[str] = set()
    for step in steps:
        kind = FAULT_KINDS.get(step.kind)
        if kind is not None and not kind.problems(step.params, step.duration_s):
            needed.update(kind.links(step.params))
    return needed


def schemas() -> dict[str, dict[str, Any]]:
    """Every kind's parameter schema, by name (for ``ticketlab validate`` and docs)."""
    return {name: kind.schema() for name, kind in FAULT_KINDS.items()}

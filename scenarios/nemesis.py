"""The nemesis: faults switched on and off on a schedule, recorded in the history.

Each step names a kind from ``scenarios.faults.kinds.FAULT_KINDS`` (the payment provider's
faults, toxics and downs through the fault proxy, replication lag three ways, killed or
paused workers, stopped lab servers, killed database connections). Fault records go into
the same history as client operations, so every chart can shade the windows and every
check can be read against them. A step that could not be switched on is an error of the
run (``summary.json``'s ``nemesis_errors``), never a silent no-op.

``FaultLab`` is what the steps act on, per variant: it starts the fault proxy when a step
needs one, routes the service's links (and the replica's) through it, and afterwards puts
everything back — a fault left on would poison the next variant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from scenarios.faults import lab as fault_lab
from scenarios.faults import processes, replication
from scenarios.faults.kinds import FAULT_KINDS, FaultContext, links_needed
from scenarios.history import Fault as FaultRecord
from scenarios.spec import Fault
from scenarios.stack.paths import LabPaths
from scenarios.stack.processes import running
from service.config import Settings

log = logging.getLogger("nemesis")


@dataclass
class Nemesis:
    """Runs a scenario's fault steps relative to ``load_start`` (epoch seconds)."""

    steps: Sequence[Fault]
    targets: FaultContext
    records: list[FaultRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def run(self, load_start: float) -> None:
        await asyncio.gather(*(self._step(s, load_start) for s in self.steps))

    async def _step(self, step: Fault, load_start: float) -> None:
        kind = FAULT_KINDS[step.kind]
        params = kind.with_defaults(step.params)
        target = kind.target(params)
        await asyncio.sleep(max(0.0, load_start + step.at_s - time.time()))
        started = time.time()
        try:
            applied = await kind.on(self.targets, params)
        except Exception as exc:
            self.errors.append(f"{step.kind} at {step.at_s}s: {exc}")
            return
        if kind.off is None:
            end = started + step.duration_s if step.duration_s else time.time()
            self.records.append(
                FaultRecord(step.kind, started, end, target, dict(step.params), applied.note)
            )
            return
        index = len(self.records)
        self.records.append(
            FaultRecord(step.kind, started, None, target, dict(step.params), applied.note)
        )
        note = applied.note
        try:
            await asyncio.sleep(step.duration_s or 0)
        finally:
            try:
                off_note = await kind.off(self.targets, params, applied.state)
                note = "; ".join(n for n in (note, off_note) if n) or None
            except Exception as exc:
                self.errors.append(f"{step.kind} at {step.at_s}s: switching off failed: {exc}")
            self.records[index] = FaultRecord(
                step.kind, started, time.time(), target, dict(step.params), note
            )


@dataclass
class FaultLab:
    """One variant's fault environment: ``route`` before the apps start, ``close`` after."""

    paths: LabPaths
    primary_port: int | None
    replica_port: int | None
    proxy: fault_lab.FaultProxy | None = None
    db_user: str | None = None
    notes: list[str] = field(default_factory=list)

    def route(self, steps: Sequence[Fault], settings: Settings) -> Settings:
        """Start the proxy for the links the steps use; the service's settings, routed
        through it (unchanged when no step needs the proxy)."""
        self.db_user = settings.db.user
        links = links_needed(steps)
        if not links:
            return settings
        self.proxy = fault_lab.start(self.paths, links, fault_lab.upstreams(settings))
        if fault_lab.REPLICATION in links and self.replica_port is not None:
            replication.point_at(self.replica_port, self.proxy.ports[fault_lab.REPLICATION])
        return fault_lab.routed(settings, self.proxy)

    def context(self, psp_url: str, service_pid: int | None, workers: int) -> FaultContext:
        return FaultContext(
            psp_url=psp_url,
            paths=self.paths,
            primary_port=self.primary_port,
            replica_port=self.replica_port,
            service_pid=service_pid,
            service_workers=workers,
            service_db_user=self.db_user,
            proxy=self.proxy,
        )

    def close(self) -> list[str]:
        """Undo whatever is still on: servers restarted, replication straight and running,
        the proxy stopped. Returns what had to be undone."""
        for part in ("redis", "replica"):
            with contextlib.suppress(processes.FaultRefused):
                processes.own_part(self.paths, part)
                if running(self.paths, part) is None:
                    self._undo(f"{part} restarted", part)
        if self.replica_port is not None and self.primary_port is not None:
            try:
                undone = replication.restore(self.replica_port, self.primary_port)
                self.notes += [f"replication: {what} undone" for what in undone]
            except Exception as exc:
                self.notes.append(f"replication could not be restored: {exc}")
        if self.proxy is not None:
            fault_lab.stop(self.paths)
            self.proxy = None
        return self.notes

    def _undo(self, what: str, part: str) -> None:
        try:
            processes.start_server(self.paths, part, self.primary_port)
            self.notes.append(what)
        except Exception as exc:
            self.notes.append(f"{what} failed: {exc}")

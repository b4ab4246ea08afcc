"""The nemesis: faults switched on and off on a schedule, recorded in the history.

Each fault kind is a pair of actions (on, off). ``psp-faults`` replaces the payment
provider's fault set through its admin endpoint and restores a clean one afterwards.
Fault records go into the same history as client operations, so every chart can shade
the windows and every check can be read against them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from scenarios.history import Fault as FaultRecord
from scenarios.spec import Fault

ADMIN_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Targets:
    psp_url: str


Action = Callable[[aiohttp.ClientSession, Targets, Mapping[str, Any]], Awaitable[None]]


async def put_psp_faults(
    session: aiohttp.ClientSession, targets: Targets, params: Mapping[str, Any]
) -> None:
    timeout = aiohttp.ClientTimeout(total=ADMIN_TIMEOUT_S)
    async with session.put(
        f"{targets.psp_url}/_lab/faults", data=json.dumps(dict(params)), timeout=timeout
    ) as answer:
        if answer.status != 200:
            raise RuntimeError(f"the provider refused faults {params}: {await answer.text()}")


async def clear_psp_faults(
    session: aiohttp.ClientSession, targets: Targets, params: Mapping[str, Any]
) -> None:
    await put_psp_faults(session, targets, {})


ACTIONS: dict[str, tuple[Action, Action, str]] = {
    "psp-faults": (put_psp_faults, clear_psp_faults, "psp"),
}


@dataclass
class Nemesis:
    """Runs a scenario's fault steps relative to ``load_start`` (epoch seconds)."""

    steps: Sequence[Fault]
    targets: Targets
    records: list[FaultRecord] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    async def run(self, load_start: float) -> None:
        async with aiohttp.ClientSession() as session:
            await asyncio.gather(*(self._step(session, s, load_start) for s in self.steps))

    async def _step(self, session: aiohttp.ClientSession, step: Fault, load_start: float) -> None:
        on, off, target = ACTIONS[step.kind]
        await asyncio.sleep(max(0.0, load_start + step.at_s - time.time()))
        started = time.time()
        try:
            await on(session, self.targets, step.params)
        except Exception as exc:
            self.errors.append(f"{step.kind} at {step.at_s}s: {exc}")
            return
        index = len(self.records)
        self.records.append(FaultRecord(step.kind, started, None, target, dict(step.params)))
        if step.duration_s is None:
            return
        try:
            await asyncio.sleep(step.duration_s)
        finally:
            with contextlib.suppress(Exception):
                await off(session, self.targets, step.params)
            self.records[index] = FaultRecord(
                step.kind, started, time.time(), target, dict(step.params)
            )

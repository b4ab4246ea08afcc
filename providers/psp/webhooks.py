"""``PAYMENT_STATUS_CHANGED`` deliveries: signed, retried on Toss's schedule, faultable.

Each status change becomes one event (its own ``eventId``) whose payload snapshots the
payment at that moment. A delivery chain makes up to 1 + 7 attempts, retrying on any
non-2xx answer or connection error after Toss's intervals (scaled by ``time_scale``);
retries and duplicates repeat the event id, so a receiver can deduplicate on it. Every
attempt is recorded for the ledger, and chains are background tasks the app tracks, so the
lab can wait until no delivery is pending and shutdown cancels what is left.

Faults (see ``faults.py``): a duplicated event is delivered once more after it succeeded;
an out-of-order event is held back until the same payment's next event has had its first
attempt (or ``out_of_order_hold_ms`` passed), so the older status arrives after the newer.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiohttp

from providers.psp.config import PspConfig
from providers.psp.faults import FaultDice, Faults
from providers.psp.models import KST, Payment, lab_time, new_key, toss_time
from providers.psp.signing import SIGNATURE_HEADER, TRANSMISSION_TIME_HEADER, signature

EVENT_TYPE = "PAYMENT_STATUS_CHANGED"


@dataclass(frozen=True)
class Event:
    event_id: str
    payment_key: str
    status: str
    payload: str


@dataclass(frozen=True)
class Plan:
    """The fault decisions for one event, drawn when it is emitted."""

    delay_s: float = 0.0
    drop_first: bool = False
    duplicate: bool = False
    gate: asyncio.Event | None = None  # set: this event is held until the gate opens
    release: asyncio.Event | None = None  # opened after this event's first attempt


class WebhookDispatcher:
    def __init__(
        self,
        config: PspConfig,
        session: aiohttp.ClientSession,
        dice: FaultDice,
        faults: Callable[[], Faults],
        clock: Callable[[], datetime],
    ) -> None:
        self._config = config
        self._session = session
        self._dice = dice
        self._faults = faults
        self._clock = clock
        self._tasks: set[asyncio.Task[None]] = set()
        self._held: dict[str, asyncio.Event] = {}
        self.deliveries: list[dict[str, Any]] = []
        self.events_emitted = 0

    @property
    def pending(self) -> int:
        """Chains not finished yet, held and delayed ones included."""
        return len(self._tasks)

    def emit(self, payment: Payment) -> None:
        if not self._config.webhook_url:
            return
        now = self._clock()
        body = {
            "eventType": EVENT_TYPE,
            "eventId": new_key("tlevt_", 12),
            "createdAt": now.astimezone(KST).isoformat(timespec="microseconds"),
            "data": payment.to_toss(),
        }
        event = Event(
            event_id=body["eventId"],
            payment_key=payment.payment_key,
            status=str(payment.status),
            payload=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        )
        self.events_emitted += 1
        faults = self._faults()
        out_of_order = self._dice.hit(faults.webhook_out_of_order_rate)
        duplicate = self._dice.hit(faults.webhook_duplicate_rate)
        drop_first = self._dice.hit(faults.webhook_drop_first_rate)
        release = self._held.pop(payment.payment_key, None)
        gate = None
        if out_of_order and release is None:
            gate = asyncio.Event()
            self._held[payment.payment_key] = gate
        plan = Plan(
            delay_s=faults.webhook_delay_ms / 1000.0,
            drop_first=drop_first,
            duplicate=duplicate,
            gate=gate,
            release=release,
        )
        self._spawn(self._chain(event, plan, copy=0))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _chain(self, event: Event, plan: Plan, copy: int) -> None:
        try:
            if plan.gate is not None:
                await self._wait_gate(event, plan.gate)
            if plan.delay_s > 0:
                await asyncio.sleep(plan.delay_s)
            delays = self._config.retry_delays_s()
            for attempt in range(1, len(delays) + 2):
                if attempt == 1 and plan.drop_first:
                    self._record(event, copy, attempt, None, "dropped by fault", "dropped")
                    ok = False
                else:
                    ok = await self._attempt(event, copy, attempt)
                if attempt == 1 and plan.release is not None:
                    plan.release.set()
                if ok:
                    if plan.duplicate:
                        self._spawn(self._chain(event, Plan(), copy=copy + 1))
                    return
                if attempt <= len(delays):
                    await asyncio.sleep(delays[attempt - 1])
        finally:
            if plan.release is not None:
                plan.release.set()

    async def _wait_gate(self, event: Event, gate: asyncio.Event) -> None:
        try:
            await asyncio.wait_for(gate.wait(), self._config.out_of_order_hold_ms / 1000.0)
        except TimeoutError:
            pass
        finally:
            if self._held.get(event.payment_key) is gate:
                del self._held[event.payment_key]

    async def _attempt(self, event: Event, copy: int, attempt: int) -> bool:
        transmission_time = toss_time(self._clock())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            SIGNATURE_HEADER: signature(
                self._config.signing_secret, event.payload, transmission_time
            ),
            TRANSMISSION_TIME_HEADER: transmission_time,
        }
        try:
            async with self._session.post(
                self._config.webhook_url, data=event.payload.encode(), headers=headers
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            self._record(event, copy, attempt, None, f"{type(exc).__name__}: {exc}", "failed")
            return False
        ok = 200 <= status < 300
        self._record(event, copy, attempt, status, None, "delivered" if ok else "failed")
        return ok

    def _record(
        self,
        event: Event,
        copy: int,
        attempt: int,
        status: int | None,
        error: str | None,
        outcome: str,
    ) -> None:
        self.deliveries.append(
            {
                "eventId": event.event_id,
                "paymentKey": event.payment_key,
                "status": event.status,
                "copy": copy,
                "attempt": attempt,
                "responseStatus": status,
                "error": error,
                "outcome": outcome,
                "at": lab_time(self._clock()),
            }
        )

"""Shared pieces of the payment tests: the provider and the service as real in-process
servers on 127.0.0.1, members with access tokens, reservations made through the API, and
signed webhook deliveries the tests write themselves.

Everything runs in the test module's event loop; every server and session is closed on
exit. Waiting is always for a condition, with a bound (``wait_until``), never a fixed sleep.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp

from providers.psp import PspConfig, create_app
from service.adapters.db import Database
from service.adapters.tokens import AccessTokens
from service.config import Settings
from tests.support.http import call
from tests.support.processes import free_port
from tests.support.servers import Service, serving_app
from tests.support.waiting import wait_until

PSP_SECRET = "test_sk_payments"
FAST = 1e-5  # Toss's retry minutes become milliseconds
KST = timezone(timedelta(hours=9))


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@dataclass
class Psp:
    url: str
    http: aiohttp.ClientSession
    secret: str = PSP_SECRET

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": "Basic " + base64.b64encode(f"{self.secret}:".encode()).decode()}

    async def checkout(self, order_id: str, amount: int, name: str = "ticketlab test") -> str:
        async with self.http.post(
            f"{self.url}/_lab/checkout",
            json={"orderId": order_id, "orderName": name, "amount": amount},
        ) as response:
            assert response.status == 200, await response.text()
            return str((await response.json())["paymentKey"])

    async def confirm_directly(self, payment_key: str, order_id: str, amount: int) -> int:
        """A confirm that bypasses the service (as if the service's answer was lost)."""
        async with self.http.post(
            f"{self.url}/v1/payments/confirm",
            json={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
            headers=self.auth,
        ) as response:
            await response.read()
            return response.status

    async def payment(self, payment_key: str) -> dict[str, Any]:
        async with self.http.get(
            f"{self.url}/v1/payments/{payment_key}", headers=self.auth
        ) as response:
            return dict(await response.json())

    async def ledger(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/_lab/ledger") as response:
            return dict(await response.json())

    async def ledger_payment(self, payment_key: str) -> dict[str, Any]:
        for entry in (await self.ledger())["payments"]:
            if entry["paymentKey"] == payment_key:
                return dict(entry)
        raise AssertionError(f"{payment_key} not in the ledger")

    async def confirm_calls(self, payment_key: str) -> list[dict[str, Any]]:
        return [
            r
            for r in (await self.ledger())["requests"]
            if r["op"] == "confirm" and r["paymentKey"] == payment_key
        ]

    async def set_faults(self, **faults: Any) -> None:
        async with self.http.put(f"{self.url}/_lab/faults", json=faults) as response:
            assert response.status == 200, await response.text()

    async def deliveries_done(self) -> None:
        async def none_pending() -> bool:
            async with self.http.get(f"{self.url}/_lab/deliveries") as response:
                return (await response.json())["pending"] == 0

        await wait_until(none_pending, what="webhook deliveries to finish")


@asynccontextmanager
async def running_psp(
    http: aiohttp.ClientSession, webhook_url: str = "", **config: Any
) -> AsyncIterator[Psp]:
    port = free_port()
    app = create_app(
        PspConfig(
            port=port,
            webhook_url=webhook_url,
            secret_key=PSP_SECRET,
            time_scale=FAST,
            seed=3,
            out_of_order_hold_ms=500,
            **config,
        )
    )
    async with serving_app(app, port) as url:
        yield Psp(url, http)


def service_settings(base: Settings, psp: Psp, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "psp_url": psp.url,
        "psp_secret_key": psp.secret,
        "psp_timeout_s": 1.0,
        "reconciler_interval_s": 0.2,
        "reconciler_grace_s": 0.5,
        "sweeper_interval_s": 0.3,
        "sweeper_grace_s": 0.2,
        **overrides,
    }
    import dataclasses

    return dataclasses.replace(base, **values)


@dataclass
class Member:
    id: int
    headers: dict[str, str]


async def new_member(db: Database, settings: Settings) -> Member:
    now = datetime.now(UTC).replace(tzinfo=None)
    async with db.transaction() as cur:
        await cur.execute(
            "INSERT INTO members (issuer, subject, email, name, created_at, last_login_at)"
            " VALUES (%s, %s, NULL, NULL, %s, %s)",
            ("test", uuid.uuid4().hex, now, now),
        )
        member_id = int(cur.lastrowid)
    token = AccessTokens(settings).issue(member_id)
    return Member(member_id, {"Authorization": f"Bearer {token}"})


@dataclass
class Seats:
    """Hands out each seat of the module's concert once, so tests never compete for one."""

    concert_id: int
    free: list[int] = field(default_factory=list)

    def take(self, n: int = 1) -> list[int]:
        taken, self.free = self.free[:n], self.free[n:]
        assert len(taken) == n, "the test concert ran out of seats"
        return taken


async def seats_of(db: Database, concert_id: int) -> Seats:
    rows = await db.fetch_all(
        "SELECT id FROM seats WHERE concert_id = %s ORDER BY id", (concert_id,)
    )
    return Seats(concert_id, [r["id"] for r in rows])


async def reserve(
    http: aiohttp.ClientSession, service: Service, member: Member, seats: Seats, n: int = 1
) -> dict[str, Any]:
    """A reservation awaiting payment, made through the API like a client would."""
    status, hold, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/concerts/{seats.concert_id}/holds",
        json={"seat_ids": seats.take(n)},
        headers=member.headers,
    )
    assert status == 201, hold
    status, reservation, _ = await call(
        http, "POST", f"{service.url}/api/v1/holds/{hold['id']}/reservation", headers=member.headers
    )
    assert status == 201, reservation
    reservation["seat_ids"] = [s["id"] for s in hold["seats"]]
    return dict(reservation)


async def confirm(
    http: aiohttp.ClientSession,
    service: Service,
    member: Member,
    payment_key: str,
    order_id: str,
    amount: int,
) -> tuple[int, Any]:
    status, body, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/payments/confirm",
        json={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
        headers=member.headers,
    )
    return status, body


async def reservation_status(db: Database, reservation_id: int) -> str:
    row = await db.fetch_one("SELECT status FROM reservations WHERE id = %s", (reservation_id,))
    assert row is not None
    return str(row["status"])


async def payment_row(db: Database, payment_key: str) -> dict[str, Any] | None:
    return await db.fetch_one("SELECT * FROM payments WHERE payment_key = %s", (payment_key,))


async def event_row(db: Database, event_id: str) -> dict[str, Any] | None:
    return await db.fetch_one("SELECT * FROM webhook_events WHERE event_id = %s", (event_id,))


def signed_headers(body: str, secret: str = PSP_SECRET, at: datetime | None = None) -> dict:
    sent = (at or datetime.now(UTC)).astimezone(KST).isoformat(timespec="seconds")
    digest = hmac.new(secret.encode(), f"{body}:{sent}".encode(), hashlib.sha256).digest()
    return {
        "Content-Type": "application/json",
        "tosspayments-webhook-signature": "v1:" + base64.b64encode(digest).decode(),
        "tosspayments-webhook-transmission-time": sent,
    }


def webhook_body(payment: dict[str, Any], status: str, event_id: str | None = None) -> str:
    """A PAYMENT_STATUS_CHANGED event carrying ``payment`` with ``status`` as its snapshot."""
    return json.dumps(
        {
            "eventType": "PAYMENT_STATUS_CHANGED",
            "eventId": event_id or "tlevt_" + uuid.uuid4().hex[:24],
            "createdAt": datetime.now(KST).isoformat(),
            "data": {**payment, "status": status},
        },
        separators=(",", ":"),
    )


async def deliver(
    http: aiohttp.ClientSession, service: Service, body: str, headers: dict[str, str]
) -> tuple[int, Any]:
    status, answer, _ = await call(
        http, "POST", f"{service.url}/webhooks/psp", data=body.encode(), headers=headers
    )
    return status, answer

"""Settling what the confirm missed, and payments that complete after their reservation
expired: the reconciler (no webhooks reach this service), refunds, and seats sold once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import aiohttp
import pytest

from service import schema
from service.adapters.db import Database
from service.bootstrap import DEPS
from service.config import Settings
from service.domain.venue import venue_layout
from service.jobs.reconciler import Reconciler
from tests.support.http import call
from tests.support.payments import (
    Psp,
    Seats,
    Service,
    confirm,
    new_member,
    payment_row,
    reservation_status,
    reserve,
    seats_of,
    service_settings,
    wait_until,
)
from tests.support.servers import serving

WEBHOOKS = False  # no webhook URL: only the reconciler's queries settle payments here
pytestmark = pytest.mark.usefixtures("no_faults")

HOLD_TTL_S = 1.5


@pytest.fixture(scope="module")
async def service(settings: Settings, psp: Psp) -> AsyncIterator[Service]:
    async with serving(service_settings(settings, psp)) as running:
        yield running


@pytest.fixture(scope="module")
async def short(settings: Settings, psp: Psp) -> AsyncIterator[Service]:
    """The same service with holds that expire in 1.5 s."""
    tuned = service_settings(settings, psp, hold_ttl_s=HOLD_TTL_S, reconciler_enabled=False)
    async with serving(tuned) as running:
        yield running


@pytest.fixture(scope="module")
async def seats(settings: Settings, db: Database) -> Seats:
    layout = venue_layout(zones=1, seats_per_row=20, max_rows=2)
    concert = schema.seed(settings, layout=layout, ticket_limit=10).concert_ids[0]
    return await seats_of(db, concert)


async def test_the_reconciler_settles_a_confirm_left_pending(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    await psp.set_faults(confirm_latency={"kind": "fixed", "ms": 1500})
    status, body = await confirm(
        http, service, member, key, reservation["order_id"], reservation["amount"]
    )
    assert (status, body["status"]) == (202, "PENDING")

    async def confirmed() -> bool:
        return await reservation_status(db, reservation["id"]) == "CONFIRMED"

    await wait_until(confirmed, within=10, what="the reconciler to confirm")
    row = await payment_row(db, key)
    assert row is not None and (row["last_source"], row["settled"]) == ("reconciler", 1)
    assert len((await psp.ledger_payment(key))["captures"]) == 1


async def test_n_reconcilers_never_check_one_payment_twice(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, service.settings)
    keys = []
    for _ in range(6):
        reservation = await reserve(http, service, member, seats)
        key = await psp.checkout(reservation["order_id"], reservation["amount"])
        keys.append(key)
        assert await psp.confirm_directly(key, reservation["order_id"], reservation["amount"])
    # Rows as a confirm leaves them when its answer was lost, due for a check now.
    async with db.transaction() as cur:
        for key, order in [(k, await _order_of(psp, k)) for k in keys]:
            await cur.execute(
                "INSERT INTO payments (payment_key, order_id, reservation_id, member_id, amount,"
                " status, next_check_at, created_at, updated_at)"
                " SELECT %s, order_id, id, member_id, amount, 'IN_PROGRESS',"
                " UTC_TIMESTAMP(6) - INTERVAL 1 SECOND, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6)"
                " FROM reservations WHERE order_id = %s",
                (key, order),
            )
    deps = service.app[DEPS].payments
    slow = dataclasses.replace(service.settings, reconciler_interval_s=30)
    workers = [Reconciler(slow, deps, limit=2) for _ in range(4)]
    counts = await asyncio.gather(*[w.tick() for w in workers for _ in range(2)])
    rows = [await payment_row(db, key) for key in keys]
    assert [r["check_attempts"] for r in rows if r is not None] == [1] * len(keys)
    assert sum(counts) <= len(keys)  # the service's own reconciler may have taken some

    async def all_confirmed() -> bool:
        rows = [await payment_row(db, key) for key in keys]
        return all(r is not None and r["outcome"] == "confirmed" for r in rows)

    await wait_until(all_confirmed, what="every payment to be confirmed")


async def _order_of(psp: Psp, key: str) -> str:
    return str((await psp.payment(key))["orderId"])


async def test_a_payment_completing_after_expiry_is_refunded_and_the_seat_sold_once(
    http: aiohttp.ClientSession, short: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, short.settings)
    reservation = await reserve(http, short, member, seats)
    seat_id = reservation["seat_ids"][0]
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    # Approved at the provider only after the hold's TTL has run out.
    await psp.set_faults(confirm_latency={"kind": "fixed", "ms": (HOLD_TTL_S + 0.8) * 1000})
    fast_confirm = dataclasses.replace(short.settings, psp_timeout_s=5.0)
    async with serving(fast_confirm) as patient:
        status, problem = await confirm(
            http, patient, member, key, reservation["order_id"], reservation["amount"]
        )
    assert status == 409, problem
    assert problem["type"].endswith("/payment-refunded-reservation-expired")
    assert problem["refund"] == "done"
    entry = await psp.ledger_payment(key)
    assert entry["capturedAmount"] == entry["refundedAmount"] == reservation["amount"]
    assert await reservation_status(db, reservation["id"]) == "EXPIRED"
    row = await payment_row(db, key)
    assert row is not None and (row["status"], row["outcome"], row["settled"]) == (
        "CANCELED",
        "refunded",
        1,
    )
    await psp.set_faults()
    # The seat went back on sale; someone else buys it, and it is sold exactly once.
    other = await new_member(db, short.settings)
    status, hold, _ = await call(
        http,
        "POST",
        f"{short.url}/api/v1/concerts/{seats.concert_id}/holds",
        json={"seat_ids": [seat_id]},
        headers=other.headers,
    )
    assert status == 201, hold
    status, second, _ = await call(
        http, "POST", f"{short.url}/api/v1/holds/{hold['id']}/reservation", headers=other.headers
    )
    key2 = await psp.checkout(second["order_id"], second["amount"])
    status, _ = await confirm(http, short, other, key2, second["order_id"], second["amount"])
    assert status == 200
    sold = await db.fetch_all(
        "SELECT r.id FROM reservations r JOIN hold_seats hs ON hs.hold_id = r.hold_id"
        " WHERE hs.seat_id = %s AND r.status = 'CONFIRMED'",
        (seat_id,),
    )
    assert len(sold) == 1
    seat = await db.fetch_one("SELECT status FROM seats WHERE id = %s", (seat_id,))
    assert seat == {"status": "SOLD"}


async def test_a_capture_the_provider_reports_after_expiry_is_refunded_by_the_reconciler(
    http: aiohttp.ClientSession,
    short: Service,
    service: Service,
    psp: Psp,
    db: Database,
    seats: Seats,
) -> None:
    member = await new_member(db, short.settings)
    reservation = await reserve(http, short, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    await psp.set_faults(confirm_latency={"kind": "fixed", "ms": 1200})
    status, body = await confirm(
        http, short, member, key, reservation["order_id"], reservation["amount"]
    )
    assert (status, body["status"]) == (202, "PENDING")

    async def expired() -> bool:
        return await reservation_status(db, reservation["id"]) == "EXPIRED"

    await wait_until(expired, within=10, what="the reservation to expire")

    async def refunded() -> bool:  # ``service`` runs the reconciler on the same database
        entry = await psp.ledger_payment(key)
        return bool(entry["refundedAmount"] == entry["capturedAmount"] > 0)

    async def recorded() -> bool:  # the provider refunds first, the row says so after
        row = await payment_row(db, key)
        return row is not None and row["outcome"] == "refunded"

    await wait_until(refunded, within=10, what="the late capture to be refunded")
    await wait_until(recorded, within=10, what="the refund to be recorded")


async def test_an_expired_reservation_is_refused_before_any_provider_call(
    http: aiohttp.ClientSession, short: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, short.settings)
    reservation = await reserve(http, short, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])

    async def expired() -> bool:
        return await reservation_status(db, reservation["id"]) == "EXPIRED"

    await wait_until(expired, within=10, what="the reservation to expire")
    status, problem = await confirm(
        http, short, member, key, reservation["order_id"], reservation["amount"]
    )
    assert status == 409 and problem["type"].endswith("/reservation-expired"), problem
    assert await psp.confirm_calls(key) == []

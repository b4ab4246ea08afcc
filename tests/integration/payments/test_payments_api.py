"""Paying through the API against a real provider: start, confirm, concurrency, amounts,
declines and timeouts. The provider's webhooks reach the service, and the reconciler runs,
as in production; every assertion about money is made on the provider's ledger."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from service import schema
from service.adapters.db import Database
from service.config import Settings
from service.domain.venue import venue_layout
from service.http.problems import PROBLEM_JSON
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
from tests.support.processes import free_port
from tests.support.servers import serving

pytestmark = pytest.mark.usefixtures("no_faults")


@pytest.fixture(scope="module")
async def service(settings: Settings, psp: Psp, service_port: int) -> AsyncIterator[Service]:
    async with serving(service_settings(settings, psp), service_port) as running:
        yield running


@pytest.fixture(scope="module")
async def seats(settings: Settings, db: Database) -> Seats:
    layout = venue_layout(zones=2, seats_per_row=20, max_rows=2)
    concert = schema.seed(settings, layout=layout, ticket_limit=10).concert_ids[0]
    return await seats_of(db, concert)


async def start_and_checkout(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> tuple[Any, dict[str, Any], str]:
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    status, start, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/reservations/{reservation['id']}/payment",
        headers=member.headers,
    )
    assert status == 200, start
    key = await psp.checkout(start["order_id"], start["amount"], start["order_name"])
    return member, reservation, key


async def test_starting_a_payment_gives_the_reservations_order_amount_and_checkout(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats, n=2)
    status, start, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/reservations/{reservation['id']}/payment",
        headers=member.headers,
    )
    assert status == 200, start
    assert start["order_id"] == reservation["order_id"]
    assert start["amount"] == reservation["amount"] > 0
    assert start["checkout"]["url"] == psp.url + "/_lab/checkout"
    assert start["checkout"]["body"] == {
        "orderId": reservation["order_id"],
        "orderName": start["order_name"],
        "amount": reservation["amount"],
    }


async def test_another_members_reservation_is_not_found(
    http: aiohttp.ClientSession, service: Service, db: Database, seats: Seats
) -> None:
    alice, bob = await new_member(db, service.settings), await new_member(db, service.settings)
    reservation = await reserve(http, service, alice, seats)
    status, body, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/reservations/{reservation['id']}/payment",
        headers=bob.headers,
    )
    assert status == 404, body
    status, body = await confirm(
        http, service, bob, "tlpk_x", reservation["order_id"], reservation["amount"]
    )
    assert status == 404, body


async def test_a_confirm_captures_once_confirms_the_reservation_and_sells_its_seats(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    status, body = await confirm(
        http, service, member, key, reservation["order_id"], reservation["amount"]
    )
    assert status == 200, body
    assert body["status"] == "CONFIRMED"
    assert await reservation_status(db, reservation["id"]) == "CONFIRMED"
    sold = await db.fetch_all(
        "SELECT status FROM seats WHERE id = %s", (reservation["seat_ids"][0],)
    )
    assert [s["status"] for s in sold] == ["SOLD"]
    entry = await psp.ledger_payment(key)
    assert (entry["capturedAmount"], entry["refundedAmount"]) == (reservation["amount"], 0)
    row = await payment_row(db, key)
    assert row is not None and (row["status"], row["confirmed"], row["settled"]) == ("DONE", 1, 1)
    # A reservation that is paid can't be paid again.
    status, body, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/reservations/{reservation['id']}/payment",
        headers=member.headers,
    )
    assert status == 409, body


async def test_the_request_id_reaches_the_providers_ledger(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    headers = {**member.headers, "X-Request-Id": "req-payments-42"}
    status, _, _ = await call(
        http,
        "POST",
        f"{service.url}/api/v1/payments/confirm",
        json={
            "paymentKey": key,
            "orderId": reservation["order_id"],
            "amount": reservation["amount"],
        },
        headers=headers,
    )
    assert status == 200
    entry = await psp.ledger_payment(key)
    assert "req-payments-42" in entry["requestIds"]
    assert entry["captures"][0]["requestId"] == "req-payments-42"


async def test_the_same_confirm_sent_ten_times_at_once_captures_once(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    answers = await asyncio.gather(
        *[
            confirm(http, service, member, key, reservation["order_id"], reservation["amount"])
            for _ in range(10)
        ]
    )
    assert {status for status, _ in answers} == {200}, answers
    entry = await psp.ledger_payment(key)
    assert len(entry["captures"]) == 1
    assert entry["capturedAmount"] == reservation["amount"]
    assert await reservation_status(db, reservation["id"]) == "CONFIRMED"


async def test_a_confirmed_payment_writes_its_events_to_the_outbox_once(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    for _ in range(2):
        status, _ = await confirm(
            http, service, member, key, reservation["order_id"], reservation["amount"]
        )
        assert status == 200
    rows = await db.fetch_all(
        "SELECT type, COUNT(*) AS n FROM outbox"
        " WHERE type IN ('reservation.confirmed', 'payment.captured')"
        " AND aggregate_id IN (%s, %s) GROUP BY type",
        (str(reservation["id"]), key),
    )
    assert {r["type"]: r["n"] for r in rows} == {"reservation.confirmed": 1, "payment.captured": 1}


async def test_a_tampered_amount_is_a_409_without_any_provider_call(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    async with http.post(
        f"{service.url}/api/v1/payments/confirm",
        json={"paymentKey": key, "orderId": reservation["order_id"], "amount": 100},
        headers=member.headers,
    ) as response:
        assert (response.status, response.content_type) == (409, PROBLEM_JSON)
        problem = await response.json()
    assert problem["type"].endswith("/payment-amount-mismatch")
    assert problem["expected"] == reservation["amount"]
    assert await psp.confirm_calls(key) == []
    assert (await psp.ledger_payment(key))["status"] == "READY"
    assert await payment_row(db, key) is None


async def test_a_declined_card_is_a_402_with_tosss_code(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    await psp.set_faults(decline_rate=1.0)
    status, problem = await confirm(
        http, service, member, key, reservation["order_id"], reservation["amount"]
    )
    assert status == 402, problem
    assert problem["toss_code"] == "REJECT_CARD_PAYMENT"
    assert await reservation_status(db, reservation["id"]) == "AWAITING_PAYMENT"
    row = await payment_row(db, key)
    assert row is not None and (row["status"], row["settled"]) == ("ABORTED", 1)


async def test_an_unknown_payment_key_is_a_422_not_a_500(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    status, problem = await confirm(
        http, service, member, "tlpk_nope", reservation["order_id"], reservation["amount"]
    )
    assert status == 422, problem
    assert problem["toss_code"] == "NOT_FOUND_PAYMENT"
    assert await payment_row(db, "tlpk_nope") is None  # nothing to reconcile, nothing bound


async def test_a_key_first_confirmed_with_the_wrong_order_still_pays_its_own(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    """The provider refuses the wrong pairing; that refusal must not bind the key to the
    wrong order, or the right confirm is refused as "belongs to another order"."""
    member = await new_member(db, service.settings)
    mine = await reserve(http, service, member, seats)
    other = await reserve(http, service, member, seats)
    key = await psp.checkout(mine["order_id"], mine["amount"])
    status, problem = await confirm(http, service, member, key, other["order_id"], other["amount"])
    assert status == 422, problem
    assert problem["toss_code"] == "NOT_FOUND_PAYMENT_SESSION"
    assert await payment_row(db, key) is None
    status, body = await confirm(http, service, member, key, mine["order_id"], mine["amount"])
    assert (status, body["status"]) == (200, "CONFIRMED"), body
    assert await reservation_status(db, mine["id"]) == "CONFIRMED"
    assert await reservation_status(db, other["id"]) == "AWAITING_PAYMENT"
    row = await payment_row(db, key)
    assert row is not None and (row["order_id"], row["outcome"]) == (mine["order_id"], "confirmed")
    assert len((await psp.ledger_payment(key))["captures"]) == 1


async def test_a_provider_that_is_down_is_a_503(
    http: aiohttp.ClientSession, settings: Settings, psp: Psp, db: Database, seats: Seats
) -> None:
    port = free_port()
    down = Psp(f"http://127.0.0.1:{port}", http)
    async with serving(service_settings(settings, down)) as lone:
        member = await new_member(db, settings)
        reservation = await reserve(http, lone, member, seats)
        status, problem = await confirm(
            http, lone, member, "tlpk_x", reservation["order_id"], reservation["amount"]
        )
    assert status == 503, problem
    assert problem["type"].endswith("/payment-provider-unavailable")
    assert str(port) not in json.dumps(problem)  # the address goes to the log only


@pytest.mark.parametrize(
    "faults",
    [
        {"timeout_rate": 1.0, "timeout_mode": "late", "timeout_late_ms": 300},
        {"timeout_rate": 1.0, "timeout_mode": "late", "timeout_late_ms": 2500},
        {"timeout_rate": 1.0, "timeout_mode": "never"},
        {"error_5xx_rate": 1.0, "error_5xx_mode": "after"},
        {"confirm_latency": {"kind": "fixed", "ms": 1800}},
    ],
    ids=["answer-late-within-timeout", "answer-after-timeout", "never", "5xx-after", "slow"],
)
async def test_a_confirm_whose_answer_is_lost_still_ends_confirmed_with_one_capture(
    http: aiohttp.ClientSession,
    service: Service,
    psp: Psp,
    db: Database,
    seats: Seats,
    faults: dict[str, Any],
) -> None:
    member, reservation, key = await start_and_checkout(http, service, psp, db, seats)
    await psp.set_faults(**faults)
    status, body = await confirm(
        http, service, member, key, reservation["order_id"], reservation["amount"]
    )
    assert status in (200, 202), body
    if "confirm_latency" in faults:  # approved after our timeout: unknown until told
        assert (status, body["status"]) == (202, "PENDING")

    async def confirmed() -> bool:
        return await reservation_status(db, reservation["id"]) == "CONFIRMED"

    await wait_until(confirmed, within=10, what="the reservation to be confirmed")
    entry = await psp.ledger_payment(key)
    assert len(entry["captures"]) == 1 and entry["refundedAmount"] == 0


async def test_confirm_with_bad_fields_is_a_4xx_problem(
    http: aiohttp.ClientSession, service: Service, db: Database
) -> None:
    member = await new_member(db, service.settings)
    for body, expected in [
        ({"paymentKey": "k", "orderId": "o"}, 422),
        ({"paymentKey": "k", "orderId": "o", "amount": "100"}, 422),
        ({"paymentKey": "k", "orderId": "o", "amount": True}, 422),
        ({"paymentKey": 1, "orderId": "o", "amount": 1}, 422),
        ({"paymentKey": "k", "orderId": "o", "amount": 1, "memberId": 2}, 422),
    ]:
        status, problem, _ = await call(
            http,
            "POST",
            f"{service.url}/api/v1/payments/confirm",
            json=body,
            headers=member.headers,
        )
        assert status == expected, (body, problem)
    status, _, _ = await call(
        http, "POST", f"{service.url}/api/v1/payments/confirm", data=b"{", headers=member.headers
    )
    assert status == 400
    status, _, _ = await call(http, "POST", f"{service.url}/api/v1/payments/confirm", json={})
    assert status == 401


async def test_metrics_count_payments_and_provider_latency(
    http: aiohttp.ClientSession, service: Service
) -> None:
    async with http.get(f"{service.url}/metrics") as response:
        text = await response.text()
    assert 'ticketlab_payments_total{outcome="confirmed"' in text
    assert "ticketlab_psp_call_seconds_bucket" in text

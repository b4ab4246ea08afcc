"""Webhooks: only signed, fresh deliveries count; each event is applied once, and what is
applied is the provider's current state, so duplicates and reordering change nothing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from service import schema
from service.adapters.db import Database
from service.config import Settings
from service.domain.venue import venue_layout
from tests.support.payments import (
    Psp,
    Seats,
    Service,
    confirm,
    deliver,
    event_row,
    new_member,
    payment_row,
    reservation_status,
    reserve,
    seats_of,
    service_settings,
    signed_headers,
    webhook_body,
)
from tests.support.servers import serving

pytestmark = pytest.mark.usefixtures("no_faults")


@pytest.fixture(scope="module")
async def service(settings: Settings, psp: Psp, service_port: int) -> AsyncIterator[Service]:
    # No reconciler: what settles a payment here is the webhook, nothing else.
    tuned = service_settings(settings, psp, reconciler_enabled=False)
    async with serving(tuned, service_port) as running:
        yield running


@pytest.fixture(scope="module")
async def seats(settings: Settings, db: Database) -> Seats:
    layout = venue_layout(zones=1, seats_per_row=20, max_rows=2)
    concert = schema.seed(settings, layout=layout, ticket_limit=10).concert_ids[0]
    return await seats_of(db, concert)


async def paid_behind_the_services_back(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> tuple[dict[str, Any], str]:
    """A reservation whose payment the provider captured but whose confirm answer the
    service never saw: only webhooks can settle it."""
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    assert await psp.confirm_directly(key, reservation["order_id"], reservation["amount"]) == 200
    return reservation, key


async def test_webhooks_alone_settle_a_payment_whose_confirm_answer_was_lost(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    reservation, key = await paid_behind_the_services_back(http, service, psp, db, seats)
    await psp.deliveries_done()
    assert await reservation_status(db, reservation["id"]) == "CONFIRMED"
    row = await payment_row(db, key)
    assert row is not None and (row["status"], row["last_source"]) == ("DONE", "webhook")


async def test_duplicated_and_reordered_deliveries_apply_each_event_once(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    await psp.set_faults(webhook_duplicate_rate=1.0, webhook_out_of_order_rate=1.0)
    reservation, key = await paid_behind_the_services_back(http, service, psp, db, seats)
    await psp.deliveries_done()
    events = await db.fetch_all("SELECT * FROM webhook_events WHERE payment_key = %s", (key,))
    assert len(events) >= 2  # IN_PROGRESS and DONE
    assert all(e["times_applied"] == 1 for e in events), events
    assert all(e["deliveries"] >= 2 for e in events), events
    assert await reservation_status(db, reservation["id"]) == "CONFIRMED"
    assert (await payment_row(db, key))["status"] == "DONE"  # type: ignore[index]
    deliveries = [d for d in (await psp.ledger())["webhooks"] if d["paymentKey"] == key]
    assert {d["responseStatus"] for d in deliveries} == {200}


async def test_one_event_delivered_five_times_at_once_is_applied_once(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    _, key = await paid_behind_the_services_back(http, service, psp, db, seats)
    await psp.deliveries_done()
    body = webhook_body(await psp.payment(key), "DONE")
    answers = await asyncio.gather(
        *[deliver(http, service, body, signed_headers(body)) for _ in range(5)]
    )
    assert [status for status, _ in answers] == [200] * 5
    assert sorted(a["result"] for _, a in answers) == ["applied"] + ["duplicate"] * 4
    event = await event_row(db, answers[0][1]["eventId"])
    assert event is not None and (event["times_applied"], event["deliveries"]) == (1, 5)


async def test_a_body_claiming_an_older_status_is_not_taken_for_the_truth(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    """Each delivery applies the provider's current state (DONE), never the body's snapshot.

    The stale-transition rule itself cannot fail here (the provider never answers an older
    status): ``test_payments_races`` feeds the settle path a stale observation directly,
    and ``test_domain_payments`` covers the state machine.
    """
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    status, _ = await confirm(
        http, service, member, key, reservation["order_id"], reservation["amount"]
    )
    assert status == 200
    payment = await psp.payment(key)
    for state in ("DONE", "IN_PROGRESS", "READY"):
        body = webhook_body(payment, state)
        status, answer = await deliver(http, service, body, signed_headers(body))
        assert (status, answer["result"]) == (200, "applied")
        event = await event_row(db, answer["eventId"])
        assert event is not None
        assert (event["reported_status"], event["applied_status"]) == (state, "DONE")
    row = await payment_row(db, key)
    assert row is not None and (row["status"], row["confirmed"]) == ("DONE", 1)
    assert await reservation_status(db, reservation["id"]) == "CONFIRMED"


@pytest.mark.parametrize(
    "tamper",
    ["wrong-secret", "no-signature", "stale", "body-changed"],
)
async def test_a_forged_or_replayed_webhook_is_a_401_and_changes_nothing(
    http: aiohttp.ClientSession,
    service: Service,
    psp: Psp,
    db: Database,
    seats: Seats,
    tamper: str,
) -> None:
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    await psp.deliveries_done()
    body = webhook_body({**(await psp.payment(key))}, "DONE")
    headers = signed_headers(body)
    if tamper == "wrong-secret":
        headers = signed_headers(body, secret="not-the-secret")
    elif tamper == "no-signature":
        del headers["tosspayments-webhook-signature"]
    elif tamper == "stale":
        headers = signed_headers(body, at=datetime.now(UTC) - timedelta(hours=1))
    else:
        body = body.replace('"DONE"', '"CANCELED"')
    before = await payment_row(db, key)
    status, problem = await deliver(http, service, body, headers)
    assert status == 401, problem
    assert problem["type"].endswith("/invalid-webhook-signature")
    assert await payment_row(db, key) == before
    assert await db.fetch_one(
        "SELECT COUNT(*) AS n FROM webhook_events WHERE payment_key = %s "
        "AND reported_status = 'DONE'",
        (key,),
    ) == {"n": 0}
    assert await reservation_status(db, reservation["id"]) == "AWAITING_PAYMENT"


@pytest.mark.parametrize(
    "signature",
    [b"v1:\xc3\xa9", b"v1:\xe9"],  # UTF-8 for "é", and a byte that is not UTF-8 at all
    ids=["non-ascii", "not-utf8"],
)
async def test_a_non_ascii_signature_is_a_401_and_changes_nothing(
    http: aiohttp.ClientSession,
    service: Service,
    psp: Psp,
    db: Database,
    seats: Seats,
    signature: bytes,
) -> None:
    """hmac.compare_digest raised TypeError on such a header: a 500 instead of a refusal."""
    member = await new_member(db, service.settings)
    reservation = await reserve(http, service, member, seats)
    key = await psp.checkout(reservation["order_id"], reservation["amount"])
    await psp.deliveries_done()
    body = webhook_body({**(await psp.payment(key))}, "DONE")
    sent_at = signed_headers(body)["tosspayments-webhook-transmission-time"]
    before = await payment_row(db, key)
    # Raw bytes on the wire: aiohttp's client would re-encode a str header as UTF-8.
    host, port = service.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    payload = body.encode()
    writer.write(
        b"POST /webhooks/psp HTTP/1.1\r\nHost: " + host.encode() + b"\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(payload)).encode() + b"\r\n"
        b"tosspayments-webhook-transmission-time: " + sent_at.encode() + b"\r\n"
        b"tosspayments-webhook-signature: " + signature + b"\r\n\r\n" + payload
    )
    answer = await asyncio.wait_for(reader.read(), timeout=10)
    writer.close()
    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split()[1] == b"401", answer
    assert b"/invalid-webhook-signature" in rest.partition(b"\r\n\r\n")[2], answer
    assert await payment_row(db, key) == before
    assert await db.fetch_one(
        "SELECT COUNT(*) AS n FROM webhook_events WHERE payment_key = %s "
        "AND reported_status = 'DONE'",
        (key,),
    ) == {"n": 0}
    assert await reservation_status(db, reservation["id"]) == "AWAITING_PAYMENT"


async def test_a_confirm_racing_its_webhooks_ends_the_same(
    http: aiohttp.ClientSession, service: Service, psp: Psp, db: Database, seats: Seats
) -> None:
    member = await new_member(db, service.settings)
    reservations = [await reserve(http, service, member, seats) for _ in range(4)]
    await psp.set_faults(confirm_latency={"kind": "uniform", "min_ms": 0, "max_ms": 60})
    keys = [await psp.checkout(r["order_id"], r["amount"]) for r in reservations]
    answers = await asyncio.gather(
        *[
            confirm(http, service, member, key, r["order_id"], r["amount"])
            for key, r in zip(keys, reservations, strict=True)
        ]
    )
    assert {status for status, _ in answers} == {200}
    await psp.deliveries_done()
    for key, r in zip(keys, reservations, strict=True):
        assert await reservation_status(db, r["id"]) == "CONFIRMED"
        row = await payment_row(db, key)
        assert row is not None and (row["status"], row["settled"]) == ("DONE", 1)


async def test_a_webhook_for_an_order_the_service_does_not_know_is_acknowledged(
    http: aiohttp.ClientSession, service: Service, psp: Psp
) -> None:
    key = await psp.checkout("ord_unknown_to_the_service", 1000)
    other_type = '{"eventType":"DEPOSIT_CALLBACK","eventId":"e1","data":{}}'
    status, answer = await deliver(http, service, other_type, signed_headers(other_type))
    assert (status, answer["result"]) == (200, "ignored")
    body = webhook_body(await psp.payment(key), "READY")
    status, answer = await deliver(http, service, body, signed_headers(body))
    assert (status, answer["result"]) == (200, "applied")

"""Webhook deliveries: signed, retried on failure, and faultable (duplicates, order, drops)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from providers.psp import Faults, PspConfig, create_app
from tests.support.waiting import wait_until

SECRET = "test_sk_psp_hooks"
WEBHOOK_SECRET = "whsec_psp_hooks"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()}
AMOUNT = 30000
# Toss's 1, 4, 16 … minute intervals become 0.6, 2.4, 9.6 … milliseconds.
FAST = 1e-5


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    at: float

    @property
    def event(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A webhook endpoint that answers from a script (then 200) and keeps what it got."""

    url: str = ""
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(dict(request.headers), await request.text(), time.monotonic())
        )
        return web.Response(status=self.script.pop(0) if self.script else 200)

    def statuses(self) -> list[str]:
        return [r.event["data"]["status"] for r in self.received]


@pytest.fixture
async def receiver(aiohttp_server: Any) -> Receiver:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    server = await aiohttp_server(app)
    hook.url = str(server.make_url("/hook"))
    return hook


MakePsp = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_psp(aiohttp_client: Any, receiver: Receiver) -> MakePsp:
    async def make(**overrides: Any) -> TestClient[Any, Any]:
        settings: dict[str, Any] = {
            "secret_key": SECRET,
            "webhook_secret": WEBHOOK_SECRET,
            "webhook_url": receiver.url,
            "time_scale": FAST,
            "seed": 11,
            **overrides,
        }
        return await aiohttp_client(create_app(PspConfig(**settings)))

    return make


async def pay(psp: TestClient[Any, Any], order_id: str) -> str:
    response = await psp.post(
        "/_lab/checkout", json={"orderId": order_id, "orderName": "Seat B-2", "amount": AMOUNT}
    )
    key = str((await response.json())["paymentKey"])
    response = await psp.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": order_id, "amount": AMOUNT},
        headers=AUTH,
    )
    assert response.status == 200, await response.text()
    return key


async def ledger(psp: TestClient[Any, Any]) -> dict[str, Any]:
    return dict(await (await psp.get("/_lab/ledger")).json())


async def settled(psp: TestClient[Any, Any]) -> None:
    async def no_pending() -> bool:
        return (await (await psp.get("/_lab/deliveries")).json())["pending"] == 0

    await wait_until(no_pending, what="webhook deliveries to finish")


def expected_signature(body: str, transmission_time: str) -> str:
    mac = hmac.new(WEBHOOK_SECRET.encode(), f"{body}:{transmission_time}".encode(), hashlib.sha256)
    return "v1:" + base64.b64encode(mac.digest()).decode()


async def test_every_status_change_arrives_signed_with_the_webhook_secret(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp()
    key = await pay(psp, "order-hook-1")
    await psp.post(f"/v1/payments/{key}/cancel", json={"cancelReason": "r"}, headers=AUTH)
    await settled(psp)
    assert receiver.statuses() == ["IN_PROGRESS", "DONE", "CANCELED"]
    for got in receiver.received:
        event = got.event
        assert event["eventType"] == "PAYMENT_STATUS_CHANGED"
        assert event["data"]["paymentKey"] == key
        sent_at = got.headers["tosspayments-webhook-transmission-time"]
        assert got.headers["tosspayments-webhook-signature"] == expected_signature(
            got.body, sent_at
        )
    assert len({got.event["eventId"] for got in receiver.received}) == 3


async def test_a_tampered_body_no_longer_matches_its_signature(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp()
    await pay(psp, "order-hook-2")
    await settled(psp)
    got = receiver.received[-1]
    tampered = got.body.replace(f'"totalAmount":{AMOUNT}', '"totalAmount":1')
    assert tampered != got.body
    sent_at = got.headers["tosspayments-webhook-transmission-time"]
    assert got.headers["tosspayments-webhook-signature"] != expected_signature(tampered, sent_at)


async def test_failed_deliveries_are_retried_until_the_receiver_answers_200(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp()
    receiver.script = [200, 500, 503, 500]  # IN_PROGRESS succeeds; DONE fails three times
    key = await pay(psp, "order-retry-1")
    await settled(psp)
    assert receiver.statuses() == ["IN_PROGRESS", "DONE", "DONE", "DONE", "DONE"]
    done = [d for d in (await ledger(psp))["webhooks"] if d["status"] == "DONE"]
    assert [(d["attempt"], d["responseStatus"], d["outcome"]) for d in done] == [
        (1, 500, "failed"),
        (2, 503, "failed"),
        (3, 500, "failed"),
        (4, 200, "delivered"),
    ]
    assert {d["paymentKey"] for d in done} == {key}
    assert len({d["eventId"] for d in done}) == 1


async def test_an_unreachable_receiver_gets_eight_attempts_then_the_chain_ends(
    make_psp: MakePsp,
) -> None:
    psp = await make_psp(webhook_url="http://127.0.0.1:9/unreachable", time_scale=1e-6)
    await pay(psp, "order-unreach-1")
    await settled(psp)
    book = await ledger(psp)
    done = [d for d in book["webhooks"] if d["status"] == "DONE"]
    assert [d["attempt"] for d in done] == list(range(1, 9))
    assert all(d["responseStatus"] is None and d["error"] for d in done)
    assert book["pendingDeliveries"] == 0


async def test_pending_deliveries_stay_visible_while_retries_wait(make_psp: MakePsp) -> None:
    psp = await make_psp(webhook_url="http://127.0.0.1:9/unreachable", time_scale=1.0)
    await pay(psp, "order-pending-1")
    assert (await ledger(psp))["pendingDeliveries"] == 2
    # Closing the app (fixture teardown) cancels the waiting chains.


async def test_the_duplicate_fault_delivers_an_event_twice_with_one_event_id(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp(faults=Faults(webhook_duplicate_rate=1.0))
    await pay(psp, "order-dup-hook-1")
    await settled(psp)
    ids = [got.event["eventId"] for got in receiver.received]
    assert len(ids) == 4 and len(set(ids)) == 2
    copies = sorted((d["status"], d["copy"]) for d in (await ledger(psp))["webhooks"])
    assert copies == [("DONE", 0), ("DONE", 1), ("IN_PROGRESS", 0), ("IN_PROGRESS", 1)]


async def test_the_out_of_order_fault_delivers_the_older_status_after_the_newer(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp(faults=Faults(webhook_out_of_order_rate=1.0))
    await pay(psp, "order-ooo-1")
    await settled(psp)
    assert receiver.statuses() == ["DONE", "IN_PROGRESS"]


async def test_the_drop_first_fault_makes_the_retry_deliver_it(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp(faults=Faults(webhook_drop_first_rate=1.0))
    await pay(psp, "order-drop-1")
    await settled(psp)
    assert receiver.statuses() == ["IN_PROGRESS", "DONE"]
    attempts = [(d["status"], d["attempt"], d["outcome"]) for d in (await ledger(psp))["webhooks"]]
    assert sorted(attempts) == [
        ("DONE", 1, "dropped"),
        ("DONE", 2, "delivered"),
        ("IN_PROGRESS", 1, "dropped"),
        ("IN_PROGRESS", 2, "delivered"),
    ]


async def test_the_delay_fault_postpones_the_first_attempt(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp(faults=Faults(webhook_delay_ms=200))
    started = time.monotonic()
    await pay(psp, "order-delay-1")
    await settled(psp)
    assert min(got.at for got in receiver.received) - started >= 0.2


async def test_faults_changed_at_run_time_apply_to_later_events(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp()
    response = await psp.put("/_lab/faults", json={"webhook_out_of_order_rate": 1.0})
    assert response.status == 200
    await pay(psp, "order-runtime-1")
    await settled(psp)
    assert receiver.statuses() == ["DONE", "IN_PROGRESS"]


async def deliveries(psp: TestClient[Any, Any]) -> dict[str, Any]:
    return dict(await (await psp.get("/_lab/deliveries")).json())


async def test_an_unconfirmed_checkout_counts_as_still_to_come(make_psp: MakePsp) -> None:
    psp = await make_psp(checkout_ttl_s=600)
    await psp.post(
        "/_lab/checkout", json={"orderId": "order-open-1", "orderName": "x", "amount": 1}
    )
    assert await deliveries(psp) == {"pending": 0, "openCheckouts": 1}


async def test_asking_for_deliveries_expires_due_checkouts_so_their_chains_are_counted(
    make_psp: MakePsp, receiver: Receiver
) -> None:
    psp = await make_psp(
        checkout_ttl_s=0, webhook_url="http://127.0.0.1:9/unreachable", time_scale=1.0
    )
    await psp.post("/_lab/checkout", json={"orderId": "order-due-1", "orderName": "x", "amount": 1})
    assert await deliveries(psp) == {"pending": 1, "openCheckouts": 0}

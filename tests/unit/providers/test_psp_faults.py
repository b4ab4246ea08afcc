"""Confirm faults and their admin endpoint: latency, timeouts, 5xx, declines, reproducibility."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from providers.psp import Faults, PspConfig, create_app
from providers.psp.__main__ import parse_args
from providers.psp.faults import Latency
from tests.support.waiting import wait_until

SECRET = "test_sk_psp_faults"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()}
AMOUNT = 20000

MakePsp = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_psp(aiohttp_client: Any) -> MakePsp:
    async def make(faults: Faults | None = None, **overrides: Any) -> TestClient[Any, Any]:
        config = PspConfig(secret_key=SECRET, seed=3, faults=faults or Faults(), **overrides)
        return await aiohttp_client(create_app(config))

    return make


async def checkout(psp: TestClient[Any, Any], order_id: str) -> str:
    response = await psp.post(
        "/_lab/checkout", json={"orderId": order_id, "orderName": "Seat C-3", "amount": AMOUNT}
    )
    return str((await response.json())["paymentKey"])


def confirm_body(key: str, order_id: str) -> dict[str, Any]:
    return {"paymentKey": key, "orderId": order_id, "amount": AMOUNT}


async def status_of(psp: TestClient[Any, Any], key: str) -> str:
    return str((await (await psp.get(f"/v1/payments/{key}", headers=AUTH)).json())["status"])


async def captures(psp: TestClient[Any, Any], key: str) -> int:
    book = await (await psp.get("/_lab/ledger")).json()
    return len(next(p for p in book["payments"] if p["paymentKey"] == key)["captures"])


async def test_the_faults_admin_replaces_the_whole_document(make_psp: MakePsp) -> None:
    psp = await make_psp()
    document = {
        "confirm_latency": {"kind": "uniform", "min_ms": 5, "max_ms": 20},
        "timeout_rate": 0.1,
        "timeout_mode": "never",
        "decline_rate": 0.25,
        "webhook_delay_ms": 50,
    }
    response = await psp.put("/_lab/faults", json=document)
    assert response.status == 200
    current = await (await psp.get("/_lab/faults")).json()
    assert current["confirm_latency"] == {"kind": "uniform", "min_ms": 5.0, "max_ms": 20.0}
    assert (current["timeout_rate"], current["timeout_mode"]) == (0.1, "never")
    assert current["error_5xx_rate"] == 0.0
    await psp.put("/_lab/faults", json={})
    assert (await (await psp.get("/_lab/faults")).json()) == Faults().to_json()


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"decline_rat": 0.1}, "decline_rat"),
        ({"decline_rate": 1.5}, "decline_rate"),
        ({"decline_rate": -0.1}, "decline_rate"),
        ({"decline_rate": "often"}, "decline_rate"),
        ({"decline_rate": True}, "decline_rate"),
        ({"timeout_mode": "sometimes"}, "timeout_mode"),
        ({"error_5xx_mode": None}, "error_5xx_mode"),
        ({"webhook_delay_ms": -5}, "webhook_delay_ms"),
        ({"confirm_latency": 50}, "confirm_latency"),
        ({"confirm_latency": {"kind": "gaussian"}}, "confirm_latency.kind"),
        ({"confirm_latency": {"kind": "fixed"}}, "confirm_latency.ms"),
        ({"confirm_latency": {"kind": "fixed", "ms": 5, "mean_ms": 3}}, "confirm_latency.mean_ms"),
        (
            {"confirm_latency": {"kind": "uniform", "min_ms": 9, "max_ms": 1}},
            "confirm_latency.max_ms",
        ),
        ([1, 2], "(document)"),
        ("{not json", "(document)"),
    ],
)
async def test_the_faults_admin_refuses_a_bad_document_naming_the_field(
    make_psp: MakePsp, document: Any, field: str
) -> None:
    psp = await make_psp(Faults(decline_rate=0.5))
    if isinstance(document, str):
        response = await psp.put("/_lab/faults", data=document)
    else:
        response = await psp.put("/_lab/faults", json=document)
    assert response.status == 400
    body = await response.json()
    assert body["field"] == field and field in body["message"] and body["code"]
    assert (await (await psp.get("/_lab/faults")).json())["decline_rate"] == 0.5


async def test_the_decline_fault_aborts_the_payment_as_rejected(make_psp: MakePsp) -> None:
    psp = await make_psp(Faults(decline_rate=1.0))
    key = await checkout(psp, "order-decline-1")
    response = await psp.post(
        "/v1/payments/confirm", json=confirm_body(key, "order-decline-1"), headers=AUTH
    )
    assert (response.status, (await response.json())["code"]) == (403, "REJECT_CARD_PAYMENT")
    payment = await (await psp.get(f"/v1/payments/{key}", headers=AUTH)).json()
    assert payment["status"] == "ABORTED"
    assert payment["failure"]["code"] == "REJECT_CARD_PAYMENT"
    assert await captures(psp, key) == 0


async def test_a_5xx_before_processing_captures_nothing_and_the_retry_succeeds(
    make_psp: MakePsp,
) -> None:
    psp = await make_psp(Faults(error_5xx_rate=1.0, error_5xx_mode="before"))
    key = await checkout(psp, "order-5xx-before")
    headers = {**AUTH, "Idempotency-Key": "k-before"}
    body = confirm_body(key, "order-5xx-before")
    first = await psp.post("/v1/payments/confirm", json=body, headers=headers)
    assert first.status == 500
    assert set(await first.json()) == {"code", "message"}
    assert await status_of(psp, key) == "IN_PROGRESS"
    await psp.put("/_lab/faults", json={})
    retry = await psp.post("/v1/payments/confirm", json=body, headers=headers)
    assert (retry.status, (await retry.json())["status"]) == (200, "DONE")
    assert await captures(psp, key) == 1


async def test_a_5xx_after_processing_has_captured_and_the_retry_sees_done(
    make_psp: MakePsp,
) -> None:
    psp = await make_psp(Faults(error_5xx_rate=1.0, error_5xx_mode="after"))
    key = await checkout(psp, "order-5xx-after")
    headers = {**AUTH, "Idempotency-Key": "k-after"}
    body = confirm_body(key, "order-5xx-after")
    first = await psp.post("/v1/payments/confirm", json=body, headers=headers)
    assert first.status == 500
    assert await status_of(psp, key) == "DONE"
    retry = await psp.post("/v1/payments/confirm", json=body, headers=headers)
    assert (retry.status, (await retry.json())["status"]) == (200, "DONE")
    assert await captures(psp, key) == 1


async def test_a_late_timeout_approves_first_and_answers_after_the_delay(
    make_psp: MakePsp,
) -> None:
    psp = await make_psp(Faults(timeout_rate=1.0, timeout_mode="late", timeout_late_ms=300))
    key = await checkout(psp, "order-late-1")
    started = time.monotonic()
    call = asyncio.create_task(
        psp.post("/v1/payments/confirm", json=confirm_body(key, "order-late-1"), headers=AUTH)
    )

    async def done_already() -> bool:
        return await status_of(psp, key) == "DONE"

    await wait_until(done_already, what="the payment to be approved")
    assert not call.done()
    response = await call
    assert response.status == 200
    assert time.monotonic() - started >= 0.3


async def test_a_never_timeout_holds_the_answer_but_a_retry_gets_it(make_psp: MakePsp) -> None:
    psp = await make_psp(Faults(timeout_rate=1.0, timeout_mode="never"))
    key = await checkout(psp, "order-never-1")
    headers = {**AUTH, "Idempotency-Key": "k-never"}
    body = confirm_body(key, "order-never-1")
    with pytest.raises(TimeoutError):
        await psp.post(
            "/v1/payments/confirm",
            json=body,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=0.3),
        )
    assert await status_of(psp, key) == "DONE"
    retry = await psp.post("/v1/payments/confirm", json=body, headers=headers)
    assert (retry.status, (await retry.json())["status"]) == (200, "DONE")
    assert await captures(psp, key) == 1
    book = await (await psp.get("/_lab/ledger")).json()
    assert [(r["fault"], r["replayed"]) for r in book["requests"]] == [
        ("never", False),
        (None, True),
    ]


async def test_the_latency_fault_slows_confirm(make_psp: MakePsp) -> None:
    psp = await make_psp(Faults(confirm_latency=Latency(kind="fixed", ms=150)))
    key = await checkout(psp, "order-latency-1")
    started = time.monotonic()
    response = await psp.post(
        "/v1/payments/confirm", json=confirm_body(key, "order-latency-1"), headers=AUTH
    )
    assert response.status == 200
    assert time.monotonic() - started >= 0.15


async def test_the_same_seed_makes_the_same_fault_decisions(make_psp: MakePsp) -> None:
    async def outcomes() -> list[int]:
        psp = await make_psp(Faults(decline_rate=0.5))
        statuses = []
        for n in range(20):
            order_id = f"order-seed-{n:02d}"
            key = await checkout(psp, order_id)
            response = await psp.post(
                "/v1/payments/confirm", json=confirm_body(key, order_id), headers=AUTH
            )
            statuses.append(response.status)
        return statuses

    first, second = await outcomes(), await outcomes()
    assert first == second
    assert {200, 403} == set(first)


def test_the_cli_takes_faults_as_json_or_from_a_file(tmp_path: Path) -> None:
    inline = parse_args(["--port", "9200", "--faults", '{"decline_rate": 0.2}', "--seed", "5"])
    assert (inline.port, inline.seed, inline.faults.decline_rate) == (9200, 5, 0.2)
    path = tmp_path / "faults.json"
    path.write_text('{"timeout_rate": 0.3, "timeout_mode": "never"}')
    from_file = parse_args(["--faults-file", str(path), "--webhook-url", "http://127.0.0.1:1/h"])
    assert (from_file.faults.timeout_rate, from_file.faults.timeout_mode) == (0.3, "never")
    assert from_file.signing_secret == from_file.secret_key == "test_sk_ticketlab"


def test_the_cli_refuses_bad_faults_naming_the_field(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args(["--faults", '{"decline_rate": 2}'])
    assert exited.value.code == 2
    assert "decline_rate" in capsys.readouterr().err

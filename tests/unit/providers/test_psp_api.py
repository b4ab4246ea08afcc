"""The payment provider's Toss-shaped API: checkout, confirm, query, cancel, bad input."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from providers.psp import Faults, PspConfig, create_app
from providers.psp.faults import Latency

SECRET = "test_sk_psp_tests"
AUTH = {"Authorization": "Basic " + base64.b64encode(f"{SECRET}:".encode()).decode()}
AMOUNT = 15000

MakePsp = Callable[..., Awaitable[TestClient[Any, Any]]]


@pytest.fixture
def make_psp(aiohttp_client: Any) -> MakePsp:
    async def make(**overrides: Any) -> TestClient[Any, Any]:
        config = PspConfig(**{"secret_key": SECRET, "seed": 7, **overrides})
        return await aiohttp_client(create_app(config))

    return make


@pytest.fixture
async def psp(make_psp: MakePsp) -> TestClient[Any, Any]:
    return await make_psp()


async def checkout(psp: TestClient[Any, Any], order_id: str, amount: int = AMOUNT) -> str:
    response = await psp.post(
        "/_lab/checkout", json={"orderId": order_id, "orderName": "Seat A-1", "amount": amount}
    )
    assert response.status == 200, await response.text()
    body = await response.json()
    assert body["status"] == "READY"
    return str(body["paymentKey"])


async def confirm(
    psp: TestClient[Any, Any],
    payment_key: str,
    order_id: str,
    amount: int = AMOUNT,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    response = await psp.post(
        "/v1/payments/confirm",
        json={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
        headers={**AUTH, **(headers or {})},
    )
    return response.status, await response.json()


async def ledger(psp: TestClient[Any, Any]) -> dict[str, Any]:
    response = await psp.get("/_lab/ledger")
    assert response.status == 200
    return dict(await response.json())


def payment_in(book: dict[str, Any], payment_key: str) -> dict[str, Any]:
    return next(p for p in book["payments"] if p["paymentKey"] == payment_key)


async def test_checkout_then_confirm_captures_the_payment_as_done(psp: TestClient) -> None:
    key = await checkout(psp, "order-done-1")
    status, body = await confirm(psp, key, "order-done-1")
    assert status == 200
    assert body["status"] == "DONE"
    assert body["paymentKey"] == key
    assert body["totalAmount"] == body["balanceAmount"] == AMOUNT
    for name in ("version", "type", "orderName", "mId", "currency", "method", "requestedAt"):
        assert body[name], name
    assert body["approvedAt"] and body["card"]["amount"] == AMOUNT
    assert body["cancels"] is None
    entry = payment_in(await ledger(psp), key)
    assert [h["status"] for h in entry["history"]] == ["READY", "IN_PROGRESS", "DONE"]
    assert entry["capturedAmount"] == AMOUNT


async def test_a_payment_can_be_read_by_key_and_by_order_id(psp: TestClient) -> None:
    key = await checkout(psp, "order-read-1")
    await confirm(psp, key, "order-read-1")
    by_key = await (await psp.get(f"/v1/payments/{key}", headers=AUTH)).json()
    by_order = await (await psp.get("/v1/payments/orders/order-read-1", headers=AUTH)).json()
    assert by_key == by_order
    assert by_key["status"] == "DONE"


async def test_ten_concurrent_confirms_with_one_idempotency_key_capture_once(
    make_psp: MakePsp,
) -> None:
    psp = await make_psp(faults=Faults(confirm_latency=Latency(kind="fixed", ms=50)))
    key = await checkout(psp, "order-idem-1")
    results = await asyncio.gather(
        *(
            confirm(psp, key, "order-idem-1", headers={"Idempotency-Key": "idem-1"})
            for _ in range(10)
        )
    )
    assert {status for status, _ in results} == {200}
    assert all(body == results[0][1] for _, body in results)
    entry = payment_in(await ledger(psp), key)
    assert len(entry["captures"]) == 1
    assert entry["capturedAmount"] == AMOUNT


async def test_ten_concurrent_confirms_without_a_key_capture_once_and_refuse_the_rest(
    make_psp: MakePsp,
) -> None:
    psp = await make_psp(faults=Faults(confirm_latency=Latency(kind="fixed", ms=50)))
    key = await checkout(psp, "order-race-1")
    results = await asyncio.gather(*(confirm(psp, key, "order-race-1") for _ in range(10)))
    outcomes = sorted((status, body.get("code")) for status, body in results)
    assert outcomes == [(200, None)] + [(400, "ALREADY_PROCESSED_PAYMENT")] * 9
    assert len(payment_in(await ledger(psp), key)["captures"]) == 1


async def test_confirming_a_done_payment_under_another_key_is_already_processed(
    psp: TestClient,
) -> None:
    key = await checkout(psp, "order-twice-1")
    await confirm(psp, key, "order-twice-1", headers={"Idempotency-Key": "first"})
    status, body = await confirm(psp, key, "order-twice-1", headers={"Idempotency-Key": "second"})
    assert (status, body["code"]) == (400, "ALREADY_PROCESSED_PAYMENT")
    assert len(payment_in(await ledger(psp), key)["captures"]) == 1


async def test_reusing_an_idempotency_key_with_another_body_is_refused(psp: TestClient) -> None:
    key = await checkout(psp, "order-reuse-1")
    await confirm(psp, key, "order-reuse-1", headers={"Idempotency-Key": "reused"})
    status, body = await confirm(
        psp, key, "order-reuse-1", amount=AMOUNT + 1, headers={"Idempotency-Key": "reused"}
    )
    assert status == 422
    assert body["code"] == "INVALID_REQUEST" and "Idempotency-Key" in body["message"]


async def test_a_mismatched_amount_is_refused_and_nothing_is_captured(psp: TestClient) -> None:
    key = await checkout(psp, "order-amount-1")
    status, body = await confirm(psp, key, "order-amount-1", amount=AMOUNT - 1000)
    assert (status, body["code"]) == (400, "INVALID_REQUEST")
    assert "amount" in body["message"]
    entry = payment_in(await ledger(psp), key)
    assert entry["status"] == "READY" and entry["captures"] == []


async def test_an_order_id_not_matching_the_payment_key_has_no_session(psp: TestClient) -> None:
    key = await checkout(psp, "order-session-1")
    status, body = await confirm(psp, key, "order-session-2")
    assert (status, body["code"]) == (404, "NOT_FOUND_PAYMENT_SESSION")


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Basic " + base64.b64encode(b"test_sk_wrong:").decode(),
        "Basic " + base64.b64encode(SECRET.encode()).decode(),  # the colon forgotten
        "Basic not*base64",
        "Bearer " + base64.b64encode(f"{SECRET}:".encode()).decode(),
    ],
    ids=["missing", "wrong-key", "no-colon", "not-base64", "not-basic"],
)
async def test_confirm_without_the_right_basic_auth_is_unauthorized(
    psp: TestClient, authorization: str | None
) -> None:
    key = await checkout(psp, "order-auth-1")
    headers = {"Authorization": authorization} if authorization else {}
    response = await psp.post(
        "/v1/payments/confirm",
        json={"paymentKey": key, "orderId": "order-auth-1", "amount": AMOUNT},
        headers=headers,
    )
    assert response.status == 401
    assert (await response.json())["code"] == "UNAUTHORIZED_KEY"
    assert payment_in(await ledger(psp), key)["status"] == "READY"


async def test_a_full_cancel_refunds_everything_and_ends_canceled(psp: TestClient) -> None:
    key = await checkout(psp, "order-cancel-1")
    await confirm(psp, key, "order-cancel-1")
    response = await psp.post(
        f"/v1/payments/{key}/cancel", json={"cancelReason": "expired hold"}, headers=AUTH
    )
    body = await response.json()
    assert response.status == 200
    assert body["status"] == "CANCELED" and body["balanceAmount"] == 0
    assert body["cancels"][0]["cancelAmount"] == AMOUNT
    assert body["cancels"][0]["cancelReason"] == "expired hold"
    entry = payment_in(await ledger(psp), key)
    assert entry["refundedAmount"] == entry["capturedAmount"] == AMOUNT
    assert entry["history"][-1]["status"] == "CANCELED"


async def test_partial_cancels_reduce_the_balance_until_nothing_is_left(psp: TestClient) -> None:
    key = await checkout(psp, "order-partial-1")
    await confirm(psp, key, "order-partial-1")
    cancel = f"/v1/payments/{key}/cancel"
    first = await (
        await psp.post(cancel, json={"cancelReason": "one", "cancelAmount": 5000}, headers=AUTH)
    ).json()
    assert (first["status"], first["balanceAmount"]) == ("PARTIAL_CANCELED", AMOUNT - 5000)
    too_much = await psp.post(
        cancel, json={"cancelReason": "two", "cancelAmount": AMOUNT}, headers=AUTH
    )
    assert (too_much.status, (await too_much.json())["code"]) == (403, "NOT_CANCELABLE_AMOUNT")
    rest = await (await psp.post(cancel, json={"cancelReason": "rest"}, headers=AUTH)).json()
    assert (rest["status"], rest["balanceAmount"]) == ("CANCELED", 0)
    again = await psp.post(cancel, json={"cancelReason": "again"}, headers=AUTH)
    assert (again.status, (await again.json())["code"]) == (400, "ALREADY_CANCELED_PAYMENT")
    entry = payment_in(await ledger(psp), key)
    assert [r["amount"] for r in entry["refunds"]] == [5000, AMOUNT - 5000]


async def test_a_repeated_cancel_with_one_idempotency_key_refunds_once(psp: TestClient) -> None:
    key = await checkout(psp, "order-cancel-idem")
    await confirm(psp, key, "order-cancel-idem")
    headers = {**AUTH, "Idempotency-Key": "cancel-1"}
    body = {"cancelReason": "refund", "cancelAmount": 1000}
    answers = [
        await (await psp.post(f"/v1/payments/{key}/cancel", json=body, headers=headers)).json()
        for _ in range(3)
    ]
    assert all(a == answers[0] for a in answers)
    assert payment_in(await ledger(psp), key)["refundedAmount"] == 1000


async def test_request_ids_of_confirm_and_cancel_reach_the_ledger(psp: TestClient) -> None:
    key = await checkout(psp, "order-reqid-1")
    await confirm(psp, key, "order-reqid-1", headers={"X-Request-Id": "req-confirm"})
    response = await psp.post(
        f"/v1/payments/{key}/cancel",
        json={"cancelReason": "r"},
        headers={**AUTH, "X-Request-Id": "req-cancel"},
    )
    assert response.headers["X-Request-Id"] == "req-cancel"
    book = await ledger(psp)
    entry = payment_in(book, key)
    assert entry["requestIds"] == ["req-confirm", "req-cancel"]
    assert entry["captures"][0]["requestId"] == "req-confirm"
    assert entry["refunds"][0]["requestId"] == "req-cancel"
    ops = [(r["op"], r["requestId"]) for r in book["requests"] if r["paymentKey"] == key]
    assert ops == [("confirm", "req-confirm"), ("cancel", "req-cancel")]


async def test_a_checkout_not_confirmed_in_time_expires(make_psp: MakePsp) -> None:
    psp = await make_psp(checkout_ttl_s=0)
    key = await checkout(psp, "order-expire-1")
    status, body = await confirm(psp, key, "order-expire-1")
    assert (status, body["code"]) == (404, "NOT_FOUND_PAYMENT_SESSION")
    assert payment_in(await ledger(psp), key)["status"] == "EXPIRED"


async def test_a_confirmed_order_id_cannot_be_checked_out_again(psp: TestClient) -> None:
    key = await checkout(psp, "order-dup-1")
    await confirm(psp, key, "order-dup-1")
    response = await psp.post(
        "/_lab/checkout", json={"orderId": "order-dup-1", "orderName": "x", "amount": 1}
    )
    assert (response.status, (await response.json())["code"]) == (400, "DUPLICATED_ORDER_ID")


CONFIRM = "/v1/payments/confirm"
GOOD = {"paymentKey": "{key}", "orderId": "order-bad-1", "amount": AMOUNT}
MALFORMED: list[tuple[str, str, str, Any, dict[str, str], int]] = [
    # (id, method, path, body (str = raw), extra headers, expected status)
    ("malformed-json", "POST", CONFIRM, "{not json", {}, 400),
    ("empty-body", "POST", CONFIRM, "", {}, 400),
    ("array-body", "POST", CONFIRM, "[1, 2]", {}, 400),
    ("missing-payment-key", "POST", CONFIRM, {**GOOD, "paymentKey": None}, {}, 400),
    ("missing-amount", "POST", CONFIRM, {"paymentKey": "{key}", "orderId": "order-bad-1"}, {}, 400),
    ("amount-as-string", "POST", CONFIRM, {**GOOD, "amount": "15000"}, {}, 400),
    ("amount-as-bool", "POST", CONFIRM, {**GOOD, "amount": True}, {}, 400),
    ("negative-amount", "POST", CONFIRM, {**GOOD, "amount": -15000}, {}, 400),
    ("zero-amount", "POST", CONFIRM, {**GOOD, "amount": 0}, {}, 400),
    ("fractional-amount", "POST", CONFIRM, {**GOOD, "amount": 1.5}, {}, 400),
    ("order-id-as-number", "POST", CONFIRM, {**GOOD, "orderId": 12345678}, {}, 400),
    ("order-id-too-short", "POST", CONFIRM, {**GOOD, "orderId": "abc"}, {}, 400),
    ("unknown-payment-key", "POST", CONFIRM, {**GOOD, "paymentKey": "tlpk_nope"}, {}, 404),
    ("idempotency-key-too-long", "POST", CONFIRM, GOOD, {"Idempotency-Key": "k" * 301}, 400),
    ("body-too-large", "POST", CONFIRM, "x" * (65 * 1024), {}, 413),
    ("get-unknown-payment", "GET", "/v1/payments/tlpk_nope", None, {}, 404),
    ("get-unknown-order", "GET", "/v1/payments/orders/order-nope-1", None, {}, 404),
    (
        "cancel-unknown-payment",
        "POST",
        "/v1/payments/tlpk_nope/cancel",
        {"cancelReason": "x"},
        {},
        404,
    ),
    ("cancel-without-reason", "POST", "/v1/payments/{key}/cancel", {}, {}, 400),
    (
        "cancel-negative-amount",
        "POST",
        "/v1/payments/{key}/cancel",
        {"cancelReason": "x", "cancelAmount": -1},
        {},
        400,
    ),
    ("cancel-not-done", "POST", "/v1/payments/{key}/cancel", {"cancelReason": "x"}, {}, 403),
    (
        "checkout-missing-name",
        "POST",
        "/_lab/checkout",
        {"orderId": "order-x-1", "amount": 1},
        {},
        400,
    ),
    (
        "checkout-bad-order-id",
        "POST",
        "/_lab/checkout",
        {"orderId": "spaces not ok", "orderName": "x", "amount": 1},
        {},
        400,
    ),
    ("unknown-route", "GET", "/v1/nothing-here", None, {}, 404),
    ("wrong-method", "DELETE", CONFIRM, None, {}, 405),
]


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "expected"),
    [case[1:] for case in MALFORMED],
    ids=[case[0] for case in MALFORMED],
)
async def test_bad_requests_get_a_4xx_with_code_and_message(
    psp: TestClient,
    method: str,
    path: str,
    body: Any,
    headers: dict[str, str],
    expected: int,
) -> None:
    key = await checkout(psp, "order-bad-1")
    path = path.replace("{key}", key)
    if isinstance(body, dict):
        body = {k: (v.replace("{key}", key) if isinstance(v, str) else v) for k, v in body.items()}
        body = {k: v for k, v in body.items() if v is not None}
        kwargs: dict[str, Any] = {"json": body}
    else:
        kwargs = {"data": body} if body is not None else {}
    response = await psp.request(method, path, headers={**AUTH, **headers}, **kwargs)
    assert response.status == expected
    payload = await response.json()
    assert set(payload) >= {"code", "message"}
    assert isinstance(payload["code"], str) and isinstance(payload["message"], str)
    assert payment_in(await ledger(psp), key)["captures"] == []

"""The provider client against the real provider: auth, idempotency, request ids, and the
typed result of every kind of trouble (refusal, timeout, 5xx, nobody listening)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from service.adapters.psp_client import PspClient, verify_webhook, webhook_signature
from service.config import Settings
from service.domain.payments import PaymentStatus, ProviderPayment
from service.ports import Refused, Unreachable
from service.request_id import request_id_var
from tests.support.payments import PSP_SECRET, Psp
from tests.support.processes import free_port

WEBHOOKS = False  # the client under test queries; nothing needs webhooks
pytestmark = pytest.mark.usefixtures("no_faults")

AMOUNT = 45_000


@pytest.fixture(scope="module")
async def client(psp: Psp) -> AsyncIterator[PspClient]:
    psp_client = PspClient(Settings(psp_url=psp.url, psp_secret_key=PSP_SECRET, psp_timeout_s=0.5))
    await psp_client.start()
    try:
        yield psp_client
    finally:
        await psp_client.close()


_orders = iter(range(10**6))


def order() -> str:
    return f"ord_client_{next(_orders)}"


async def test_a_confirm_is_authorised_idempotent_and_carries_the_request_id(
    client: PspClient, psp: Psp
) -> None:
    order_id = order()
    key = await psp.checkout(order_id, AMOUNT)
    token = request_id_var.set("req-client-1")
    try:
        results = await asyncio.gather(
            *[client.confirm(key, order_id, AMOUNT, f"confirm:{order_id}") for _ in range(5)]
        )
    finally:
        request_id_var.reset(token)
    assert all(isinstance(r, ProviderPayment) and r.status is PaymentStatus.DONE for r in results)
    entry = await psp.ledger_payment(key)
    assert len(entry["captures"]) == 1
    assert entry["captures"][0]["requestId"] == "req-client-1"
    assert entry["captures"][0]["idempotencyKey"] == f"confirm:{order_id}"


async def test_a_refusal_carries_tosss_code(client: PspClient, psp: Psp) -> None:
    order_id = order()
    key = await psp.checkout(order_id, AMOUNT)
    await psp.set_faults(decline_rate=1.0)
    result = await client.confirm(key, order_id, AMOUNT, f"confirm:{order_id}")
    assert result == Refused(403, "REJECT_CARD_PAYMENT", result.message)  # type: ignore[union-attr]
    assert await client.get_payment("tlpk_missing") == Refused(
        404, "NOT_FOUND_PAYMENT", "The payment does not exist."
    )


async def test_a_wrong_secret_key_is_a_401_refusal(psp: Psp) -> None:
    wrong = PspClient(Settings(psp_url=psp.url, psp_secret_key="nope"))
    await wrong.start()
    try:
        result = await wrong.get_payment("tlpk_x")
    finally:
        await wrong.close()
    assert isinstance(result, Refused) and (result.http_status, result.code) == (
        401,
        "UNAUTHORIZED_KEY",
    )


@pytest.mark.parametrize(
    "faults",
    [
        {"timeout_rate": 1.0, "timeout_mode": "never"},
        {"timeout_rate": 1.0, "timeout_mode": "late", "timeout_late_ms": 1500},
        {"error_5xx_rate": 1.0},
    ],
    ids=["never", "late", "5xx"],
)
async def test_a_lost_answer_is_unreachable_and_may_have_been_processed(
    client: PspClient, psp: Psp, faults: dict
) -> None:
    order_id = order()
    key = await psp.checkout(order_id, AMOUNT)
    await psp.set_faults(**faults)
    result = await client.confirm(key, order_id, AMOUNT, f"confirm:{order_id}")
    assert isinstance(result, Unreachable) and result.maybe_processed, result


async def test_nobody_listening_is_unreachable_and_surely_not_processed() -> None:
    lone = PspClient(Settings(psp_url=f"http://127.0.0.1:{free_port()}", psp_timeout_s=0.5))
    await lone.start()
    try:
        result = await lone.get_payment("tlpk_x")
    finally:
        await lone.close()
    assert isinstance(result, Unreachable) and not result.maybe_processed


async def test_a_cancel_refunds_once_per_idempotency_key(client: PspClient, psp: Psp) -> None:
    order_id = order()
    key = await psp.checkout(order_id, AMOUNT)
    await client.confirm(key, order_id, AMOUNT, f"confirm:{order_id}")
    first = await client.cancel(key, "test", f"refund:{order_id}")
    again = await client.cancel(key, "test", f"refund:{order_id}")
    assert first == again and isinstance(first, ProviderPayment)
    assert first.status is PaymentStatus.CANCELED and first.refunded_amount == AMOUNT
    assert len((await psp.ledger_payment(key))["refunds"]) == 1


async def test_one_pooled_session_serves_every_call(client: PspClient, psp: Psp) -> None:
    await client.get_payment("tlpk_a")
    await client.get_payment("tlpk_b")
    assert client.leaked == [] and client._session is not None


def test_webhook_signatures_are_checked_with_the_time() -> None:
    now = datetime(2025, 1, 1, 3, tzinfo=UTC)
    sent = now.isoformat(timespec="seconds")
    header = webhook_signature("s3cret", "{}", sent)
    assert verify_webhook("s3cret", "{}", sent, header, now, 60) is None
    assert verify_webhook("s3cret", "{}", sent, "v1:old, " + header, now, 60) is None
    assert verify_webhook("other", "{}", sent, header, now, 60) is not None
    assert verify_webhook("s3cret", "{ }", sent, header, now, 60) is not None
    assert verify_webhook("s3cret", "{}", sent, header, now + timedelta(minutes=5), 60)
    assert verify_webhook("s3cret", "{}", None, header, now, 60) is not None
    assert verify_webhook("s3cret", "{}", "yesterday", header, now, 60) is not None

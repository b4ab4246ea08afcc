"""The payment state machine and the signature, as pure functions."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from providers.psp.errors import PspError
from providers.psp.models import Payment, Status
from providers.psp.signing import signature, verify

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def approved(amount: int = 10000) -> Payment:
    payment = Payment.open(order_id="order-1", order_name="n", amount=amount, m_id="m", at=T0)
    payment.approve(T0, request_id="r", idempotency_key=None)
    return payment


def test_a_new_payment_is_ready_and_approval_passes_through_in_progress() -> None:
    payment = approved()
    assert [h.status for h in payment.history] == [Status.READY, Status.IN_PROGRESS, Status.DONE]
    assert payment.captured_amount == 10000


def test_terminal_statuses_refuse_further_transitions() -> None:
    payment = approved()
    payment.cancel(reason="r", amount=None, at=T0, request_id=None, idempotency_key=None)
    with pytest.raises(ValueError, match="CANCELED -> DONE"):
        payment.move(Status.DONE, T0)


def test_cancels_add_up_to_the_refunded_amount() -> None:
    payment = approved()
    for amount in (1000, 2000):
        payment.cancel(reason="r", amount=amount, at=T0, request_id=None, idempotency_key=None)
    assert (payment.status, payment.balance_amount) == (Status.PARTIAL_CANCELED, 7000)
    assert payment.refunded_amount == 3000
    assert [c["refundableAmount"] for c in payment.to_toss()["cancels"]] == [9000, 7000]


def test_an_unapproved_payment_cannot_be_canceled() -> None:
    payment = Payment.open(order_id="order-1", order_name="n", amount=1, m_id="m", at=T0)
    with pytest.raises(PspError) as caught:
        payment.cancel(reason="r", amount=None, at=T0, request_id=None, idempotency_key=None)
    assert (caught.value.status, caught.value.code) == (403, "NOT_CANCELABLE_PAYMENT")


def test_a_checkout_expires_once_its_ttl_has_passed() -> None:
    payment = Payment.open(order_id="order-1", order_name="n", amount=1, m_id="m", at=T0)
    assert not payment.is_expired(T0 + timedelta(seconds=599), ttl_s=600)
    assert payment.is_expired(T0 + timedelta(seconds=600), ttl_s=600)


def test_toss_times_are_kst_with_an_offset() -> None:
    assert approved().to_toss()["approvedAt"] == "2026-01-01T09:00:00+09:00"


def test_the_signature_is_base64_hmac_sha256_of_payload_colon_time() -> None:
    mac = hmac.new(b"key", b'{"a":1}:2026-01-01T09:00:00+09:00', hashlib.sha256).digest()
    header = signature("key", '{"a":1}', "2026-01-01T09:00:00+09:00")
    assert header == "v1:" + base64.b64encode(mac).decode()
    assert verify("key", '{"a":1}', "2026-01-01T09:00:00+09:00", "v1:old=," + header)
    assert not verify("other", '{"a":1}', "2026-01-01T09:00:00+09:00", header)

"""What the checkers read: the provider's ledger parsed field by field, and settlement."""

from __future__ import annotations

from datetime import UTC, datetime

from scenarios.checks.snapshot import (
    Ledger,
    LedgerPayment,
    Settlement,
    WebhookDelivery,
)


def test_the_provider_ledger_is_read_field_by_field() -> None:
    data = {
        "payments": [
            {
                "paymentKey": "pk_1",
                "orderId": "ord_1",
                "status": "PARTIAL_CANCELED",
                "totalAmount": "5000",
                "capturedAmount": 5000,
                "refundedAmount": 2000,
            },
            {"paymentKey": "pk_2", "orderId": "ord_2", "status": "READY", "totalAmount": 700},
        ],
        "webhooks": [
            {
                "eventId": "wh_1",
                "attempt": 3,
                "responseStatus": 200,
                "paymentKey": "pk_1",
                "at": "2030-01-01T09:00:00+09:00",
            },
            {"eventId": "wh_2"},
        ],
        "pendingDeliveries": 4,
    }

    assert Ledger.from_psp(data) == Ledger(
        payments=(
            LedgerPayment("pk_1", "ord_1", "PARTIAL_CANCELED", 5000, 5000, 2000),
            LedgerPayment("pk_2", "ord_2", "READY", 700, 0, 0),
        ),
        deliveries=(
            WebhookDelivery("wh_1", 3, 200, "pk_1", datetime(2030, 1, 1, tzinfo=UTC).timestamp()),
            WebhookDelivery("wh_2", 1, None, None, None),
        ),
        pending_deliveries=4,
    )


def test_an_empty_ledger_has_nothing_pending() -> None:
    assert Ledger.from_psp({}) == Ledger()


def test_a_payments_net_is_captured_minus_refunded() -> None:
    assert LedgerPayment("k", "o", "PARTIAL_CANCELED", 10, 10, 4).net == 6


def test_only_a_2xx_answer_acknowledges_a_delivery() -> None:
    codes = {
        code: WebhookDelivery("e", response_code=code).acknowledged
        for code in (None, 199, 200, 204, 299, 300, 500)
    }

    assert codes == {
        None: False,
        199: False,
        200: True,
        204: True,
        299: True,
        300: False,
        500: False,
    }


def test_a_settlement_gives_only_the_unsettled_names_asked_for() -> None:
    settlement = Settlement({"outbox": "3 left", "payments": "1 in flight"})

    assert settlement.among("payments", "webhooks") == {"payments": "1 in flight"}
    assert Settlement.settled().among("payments") == {}

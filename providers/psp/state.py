"""The provider's in-memory world and the app keys that reach it.

One process holds the whole provider: payments, the idempotency table, the request log
and the webhook ledger. Nothing is persisted because a lab run starts a fresh provider
and reads its ledger before stopping it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from providers.psp.config import PspConfig
from providers.psp.faults import FaultDice, Faults
from providers.psp.idempotency import IdempotencyStore
from providers.psp.models import CONFIRMABLE, Payment, Status, lab_time
from providers.psp.outcomes import Outcome
from providers.psp.webhooks import WebhookDispatcher


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class PspState:
    config: PspConfig
    faults: Faults
    dice: FaultDice
    clock: Callable[[], datetime] = utc_now
    payments: dict[str, Payment] = field(default_factory=dict)
    orders: dict[str, str] = field(default_factory=dict)  # orderId -> latest paymentKey
    idempotency: IdempotencyStore = field(default_factory=IdempotencyStore)
    requests: list[dict[str, Any]] = field(default_factory=list)
    webhooks: WebhookDispatcher | None = None
    closing: asyncio.Event = field(default_factory=asyncio.Event)

    def now(self) -> datetime:
        return self.clock()

    def emit(self, payment: Payment) -> None:
        if self.webhooks is not None:
            self.webhooks.emit(payment)

    def expire_due(self) -> None:
        """Checkouts never confirmed within the TTL become EXPIRED, as at Toss."""
        now = self.now()
        for payment in self.payments.values():
            if payment.status in CONFIRMABLE and not payment.confirming:
                self.expire_if_due(payment, now)

    def expire_if_due(self, payment: Payment, now: datetime | None = None) -> None:
        now = now or self.now()
        if not payment.confirming and payment.is_expired(now, self.config.checkout_ttl_s):
            payment.move(Status.EXPIRED, now)
            self.emit(payment)

    async def pause(self, seconds: float) -> None:
        """Sleep, but wake at shutdown so a held answer never blocks the server's exit."""
        if seconds <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.closing.wait(), seconds)

    def record_request(
        self,
        op: str,
        payment_key: str | None,
        request_id: str | None,
        idempotency_key: str | None,
        outcome: Outcome,
    ) -> None:
        answer = outcome.answer
        self.requests.append(
            {
                "op": op,
                "paymentKey": payment_key,
                "requestId": request_id,
                "idempotencyKey": idempotency_key,
                "httpStatus": answer.status,
                "code": answer.code,
                "replayed": outcome.replayed,
                "fault": outcome.hold or ("5xx" if outcome.wire else None),
                "at": lab_time(self.now()),
            }
        )
        payment = self.payments.get(payment_key or "")
        if payment is not None and request_id and request_id not in payment.request_ids:
            payment.request_ids.append(request_id)

    def ledger(self) -> dict[str, Any]:
        self.expire_due()
        payments = [p.to_ledger() for p in self.payments.values()]
        deliveries = self.webhooks.deliveries if self.webhooks else []
        return {
            "payments": payments,
            "requests": list(self.requests),
            "webhooks": list(deliveries),
            "pendingDeliveries": self.pending_deliveries,
            "totals": {
                "payments": len(payments),
                "capturedAmount": sum(p["capturedAmount"] for p in payments),
                "refundedAmount": sum(p["refundedAmount"] for p in payments),
                "captures": sum(len(p["captures"]) for p in payments),
                "refunds": sum(len(p["refunds"]) for p in payments),
                "events": self.webhooks.events_emitted if self.webhooks else 0,
                "deliveryAttempts": len(deliveries),
            },
        }

    @property
    def pending_deliveries(self) -> int:
        return self.webhooks.pending if self.webhooks else 0

    def open_checkouts(self) -> int:
        """Checkouts not yet confirmed, canceled or expired: each will still change status,
        and so still start a webhook chain, even when no delivery is pending right now."""
        self.expire_due()
        return sum(1 for p in self.payments.values() if p.status in CONFIRMABLE)


STATE = web.AppKey("psp_state", PspState)
WEBHOOKS = web.AppKey("psp_webhooks", WebhookDispatcher)

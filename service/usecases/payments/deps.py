"""What every payment use case runs with, and the few things they share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from service.domain.payments import ProviderPayment, Settlement
from service.domain.reservations import ReservationStatus
from service.ports import Clock, Metrics, PaymentGateway, UnitsOfWork


@dataclass(frozen=True)
class PaymentPolicy:
    """What the payment use cases take from the settings.

    ``recheck_after_s``: how long a payment may stay unsettled before the reconciler asks
    the provider about it; ``refund_retry_s``: how soon an owed refund is tried again. The
    three defects are the seed's bugs, each off by default.
    """

    checkout_url: str
    recheck_after_s: float
    refund_retry_s: float
    trust_client_amount: bool = False
    confirm_overwrites: bool = False
    webhook_no_dedupe: bool = False

    def recheck_at(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.recheck_after_s)

    def refund_retry_at(self, now: datetime) -> datetime:
        return now + timedelta(seconds=self.refund_retry_s)


@dataclass(frozen=True)
class PaymentDeps:
    policy: PaymentPolicy
    uow: UnitsOfWork
    gateway: PaymentGateway
    clock: Clock
    metrics: Metrics


@dataclass
class Applied:
    """What one settlement did, for the caller's answer."""

    settlement: Settlement | None  # None: unknown order, or a duplicate webhook
    reservation_id: int | None = None
    reservation_status: ReservationStatus | None = None
    payment: ProviderPayment | None = None
    refunded: bool = False
    duplicate: bool = False


def idempotency_key(kind: str, order_id: str, payment_key: str) -> str:
    """Derived from the order and payment, so every retry of one call is the same request."""
    return f"{kind}:{order_id}:{payment_key}"

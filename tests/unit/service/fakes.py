"""Fakes of the service's other ports, for unit tests of the use cases: a clock the test
moves, a payment provider with a ledger, counted metrics, a claim strategy that listens,
and ``PaymentWorld``, which puts them together with a fake database (``fake_database``).

``FakeGateway``'s ledger changes as a provider's would (checkouts, captures, refunds), and
any call can be told to answer something else, once.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service.domain.holds import FreedSeats, Hold, ReleasedBy
from service.domain.payments import PaymentStatus, ProviderPayment, RefundReason
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import Clock, Metrics, PaymentGateway, Refused, Result, SeatClaimer
from service.usecases.payments.deps import PaymentDeps, PaymentPolicy
from tests.unit.service.fake_database import FakeUnits, PaymentRow, Tables

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock(Clock):
    at: datetime = START

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class LedgerEntry:
    payment_key: str
    order_id: str
    amount: int
    status: PaymentStatus = PaymentStatus.READY
    refunded: int = 0
    failure_code: str | None = None

    def payment(self) -> ProviderPayment:
        balance = self.amount - self.refunded
        return ProviderPayment(
            self.payment_key,
            self.order_id,
            self.status,
            self.amount,
            balance,
            failure_code=self.failure_code,
        )


class FakeGateway(PaymentGateway):
    """A payment provider with a ledger. ``answer_next(op, result)`` makes the next call of
    ``op`` answer ``result`` instead (after doing its work, if ``lose_answer`` is set)."""

    def __init__(self) -> None:
        self.ledger: dict[str, LedgerEntry] = {}
        self.calls: list[tuple[str, str]] = []
        self.scripted: dict[str, list[tuple[Result, bool]]] = {}
        self.declines: set[str] = set()
        self._keys = itertools.count(1)

    def checkout(self, order_id: str, amount: int) -> str:
        key = f"pk_{next(self._keys)}"
        self.ledger[key] = LedgerEntry(key, order_id, amount)
        return key

    def capture(self, payment_key: str) -> None:
        """Captured behind the service's back (its own confirm's answer was lost)."""
        self.ledger[payment_key].status = PaymentStatus.DONE

    def answer_next(self, operation: str, result: Result, *, lose_answer: bool = False) -> None:
        self.scripted.setdefault(operation, []).append((result, lose_answer))

    def _scripted(self, operation: str) -> tuple[Result, bool] | None:
        queue = self.scripted.get(operation)
        return queue.pop(0) if queue else None

    async def confirm(
        self, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> Result:
        self.calls.append(("confirm", payment_key))
        scripted = self._scripted("confirm")
        if scripted is not None and not scripted[1]:
            return scripted[0]
        answer = self._confirm(payment_key, order_id, amount)
        return scripted[0] if scripted is not None else answer

    def _confirm(self, payment_key: str, order_id: str, amount: int) -> Result:
        entry = self.ledger.get(payment_key)
        if entry is None:
            return Refused(404, "NOT_FOUND_PAYMENT", "The payment does not exist.")
        if entry.order_id != order_id or entry.amount != amount:
            return Refused(404, "NOT_FOUND_PAYMENT_SESSION", "The session does not match.")
        if entry.status is not PaymentStatus.READY:
            return Refused(400, "ALREADY_PROCESSED_PAYMENT", "Already processed.")
        if payment_key in self.declines:
            entry.status, entry.failure_code = PaymentStatus.ABORTED, "REJECT_CARD_PAYMENT"
            return Refused(403, "REJECT_CARD_PAYMENT", "Rejected by the card issuer.")
        entry.status = PaymentStatus.DONE
        return entry.payment()

    async def get_payment(self, payment_key: str) -> Result:
        self.calls.append(("get", payment_key))
        scripted = self._scripted("get")
        if scripted is not None:
            return scripted[0]
        entry = self.ledger.get(payment_key)
        if entry is None:
            return Refused(404, "NOT_FOUND_PAYMENT", "The payment does not exist.")
        return entry.payment()

    async def cancel(self, payment_key: str, reason: str, idempotency_key: str) -> Result:
        self.calls.append(("cancel", payment_key))
        scripted = self._scripted("cancel")
        if scripted is not None:
            return scripted[0]
        entry = self.ledger[payment_key]
        if entry.status is PaymentStatus.CANCELED:
            return Refused(400, "ALREADY_CANCELED_PAYMENT", "Already canceled.")
        if entry.status is not PaymentStatus.DONE:
            return Refused(403, "NOT_CANCELABLE_PAYMENT", "Cannot be canceled.")
        entry.status, entry.refunded = PaymentStatus.CANCELED, entry.amount
        return entry.payment()


class RecordedMetrics(Metrics):
    """Counts by name and labels, as Prometheus would."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, ...]] = Counter()

    def hold_granted(self, strategy: str) -> None:
        self.counts["hold_granted", strategy] += 1

    def hold_refused(self, strategy: str, reason: str) -> None:
        self.counts["hold_refused", strategy, reason] += 1

    def holds_released(self, by: ReleasedBy, n: int = 1) -> None:
        self.counts["holds_released", by.value] += n

    def payment_settled(self, outcome: str, source: str) -> None:
        self.counts["payment", outcome, source] += 1

    def refunded(self, reason: RefundReason) -> None:
        self.counts["refund", reason.value] += 1

    def webhook_duplicate(self, applied: bool) -> None:
        self.counts["webhook_duplicate", str(applied).lower()] += 1

    def reconciler_checked(self, result: str) -> None:
        self.counts["reconciler", result] += 1


class RecordingClaimer(SeatClaimer):
    """A strategy that only listens: every release hook call is kept (or fails, if told)."""

    name = "recording"

    def __init__(self, *, fail: bool = False) -> None:
        self.released_seats: list[FreedSeats] = []
        self.fail = fail

    async def claim(self, request: Any) -> Hold:
        raise NotImplementedError("these tests claim nothing")

    async def released(self, freed: FreedSeats) -> None:
        self.released_seats.append(freed)
        if self.fail:
            raise ConnectionError("the strategy's store is down")


@dataclass
class PaymentWorld:
    """One payment use-case setting: the fake database, provider, clock and counts."""

    tables: Tables = field(default_factory=Tables)
    gateway: FakeGateway = field(default_factory=FakeGateway)
    clock: FakeClock = field(default_factory=FakeClock)
    metrics: RecordedMetrics = field(default_factory=RecordedMetrics)
    policy: PaymentPolicy = field(
        default_factory=lambda: PaymentPolicy(
            checkout_url="http://psp.test/_lab/checkout", recheck_after_s=15, refund_retry_s=5
        )
    )

    def __post_init__(self) -> None:
        self.units = FakeUnits(self.tables)

    @property
    def deps(self) -> PaymentDeps:
        return PaymentDeps(self.policy, self.units, self.gateway, self.clock, self.metrics)

    def reservation(self, member_id: int = 7, *, minutes: float = 10) -> Reservation:
        """Awaiting payment, due ``minutes`` from now."""
        expires = self.clock.now() + timedelta(minutes=minutes)
        return self.tables.reservation(member_id, expires)

    def payment(self, payment_key: str) -> PaymentRow:
        return self.tables.payments[payment_key]

    def status_of(self, reservation: Reservation) -> ReservationStatus:
        return self.tables.reservations[reservation.id].status

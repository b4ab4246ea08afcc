"""A fake database that keeps real state, behind the unit-of-work port.

``Tables`` holds holds, seats, reservations, payments, webhook events and the outbox as
plain objects. ``FakeUnitOfWork`` works on it as one transaction: it takes a copy on the
way in and puts it back on the way out unless ``commit()`` was called, and
``Tables.commits`` counts what was committed. The stores follow the SQL they stand for
(``service/adapters``) closely enough for the use cases to behave the same; row locks are
not modelled, since what concurrent transactions do to each other is for the MariaDB tests.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Self

from service.domain.errors import NotFound
from service.domain.holds import FreedSeats, Hold, HoldStatus, ReleasedBy, SeatRef
from service.domain.payments import (
    CAPTURED,
    Outcome,
    PaymentRecord,
    PaymentStatus,
    ProviderPayment,
    Settlement,
)
from service.domain.reservations import Reservation, ReservationStatus, new_order_id
from service.ports import (
    Holds,
    Isolation,
    Outbox,
    Payments,
    Reservations,
    UnitOfWork,
    WebhookEvents,
)


@dataclass
class SeatRow:
    status: str = "AVAILABLE"
    hold_id: int | None = None


@dataclass
class PaymentRow:
    payment_key: str
    order_id: str
    reservation_id: int
    member_id: int
    amount: int
    next_check_at: datetime
    status: PaymentStatus = PaymentStatus.READY
    outcome: Outcome | None = None
    settled: bool = False
    confirmed: bool = False
    captured_amount: int = 0
    refunded_amount: int = 0
    failure_code: str | None = None
    last_source: str | None = None
    writes: int = 0
    check_attempts: int = 0

    def record(self) -> PaymentRecord:
        return PaymentRecord(
            self.payment_key,
            self.order_id,
            self.status,
            self.amount,
            self.confirmed,
            self.settled,
            self.outcome,
        )


@dataclass
class EventRow:
    event_id: str
    event_type: str
    deliveries: int = 1
    times_applied: int = 0
    applied_status: str | None = None


@dataclass
class OutboxRow:
    type: str
    aggregate_id: str
    payload: dict[str, Any]
    correlation_id: str | None


@dataclass
class Tables:
    """The fake database; ``commits`` counts committed units of work."""

    holds: dict[int, Hold] = field(default_factory=dict)
    released_seats: set[tuple[int, int]] = field(default_factory=set)  # (hold, seat)
    seats: dict[int, SeatRow] = field(default_factory=dict)
    reservations: dict[int, Reservation] = field(default_factory=dict)
    payments: dict[str, PaymentRow] = field(default_factory=dict)
    events: dict[str, EventRow] = field(default_factory=dict)
    outbox: list[OutboxRow] = field(default_factory=list)
    commits: int = 0
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def hold(
        self, member_id: int, expires_at: datetime, *, seats: int = 2, price: int = 50_000
    ) -> Hold:
        """An ACTIVE hold on fresh seats, as a claim strategy would commit it."""
        hold_id = next(self.ids)
        refs = []
        for _ in range(seats):
            seat_id = next(self.ids)
            self.seats[seat_id] = SeatRow("HELD", hold_id)
            refs.append(SeatRef(seat_id, "A", "1", seat_id, price))
        hold = Hold(
            id=hold_id,
            concert_id=1,
            member_id=member_id,
            status=HoldStatus.ACTIVE,
            amount=price * seats,
            created_at=expires_at - timedelta(minutes=15),
            expires_at=expires_at,
            seats=refs,
            strategy="fake",
        )
        self.holds[hold_id] = hold
        return hold

    def reservation(self, member_id: int, expires_at: datetime, *, seats: int = 2) -> Reservation:
        """A reservation awaiting payment, converted from a fresh hold."""
        hold = self.hold(member_id, expires_at, seats=seats)
        return _convert(self, hold, expires_at - timedelta(minutes=15))

    def seat_statuses(self, hold: int) -> list[str]:
        return [self.seats[seat.id].status for seat in self.holds[hold].seats]

    def event_types(self) -> list[str]:
        return [row.type for row in self.outbox]


def _convert(tables: Tables, hold: Hold, now: datetime) -> Reservation:
    hold.status, hold.released_at, hold.released_by = (
        HoldStatus.CONVERTED,
        now,
        ReleasedBy.CONVERSION,
    )
    for seat in hold.seats:
        row = tables.seats[seat.id]
        if row.hold_id == hold.id and row.status == "HELD":
            row.status = "RESERVED"
    reservation = Reservation(
        id=next(tables.ids),
        hold_id=hold.id,
        member_id=hold.member_id,
        concert_id=hold.concert_id,
        order_id=new_order_id(),
        amount=hold.amount,
        status=ReservationStatus.AWAITING_PAYMENT,
        created_at=now,
        expires_at=hold.expires_at,
    )
    tables.reservations[reservation.id] = reservation
    return reservation


class FakeHolds(Holds):
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    async def get(
        self, hold_id: int, member_id: int | None = None, *, for_update: bool = False
    ) -> Hold | None:
        hold = self.t.holds.get(hold_id)
        if hold is None or member_id not in (None, hold.member_id):
            return None
        return copy.deepcopy(hold)

    async def release_by_member(self, hold_id: int, member_id: int, now: datetime) -> Hold:
        hold = await self.get(hold_id, member_id)
        if hold is None:
            raise NotFound("hold", hold_id)
        hold.ensure_releasable()
        self._release(hold_id, ReleasedBy.MEMBER, now)
        return copy.deepcopy(self.t.holds[hold_id])

    async def release_expired(
        self, hold_id: int, by: ReleasedBy, now: datetime
    ) -> FreedSeats | None:
        hold = self.t.holds.get(hold_id)
        if hold is None or hold.expires_at > now:
            return None
        if hold.status is HoldStatus.ACTIVE:
            return self._release(hold_id, by, now)
        if hold.status is not HoldStatus.CONVERTED:
            return None
        reservation = next(r for r in self.t.reservations.values() if r.hold_id == hold_id)
        if reservation.status is not ReservationStatus.AWAITING_PAYMENT:
            return None
        if reservation.expires_at > now:
            return None
        reservation.status, reservation.released_at = ReservationStatus.EXPIRED, now
        freed = self._free_seats(hold_id)
        payload = {"hold_id": hold_id, "released_by": by.value}
        self.t.outbox.append(OutboxRow("reservation.expired", str(reservation.id), payload, None))
        return freed

    def _release(self, hold_id: int, by: ReleasedBy, now: datetime) -> FreedSeats:
        freed = self._free_seats(hold_id)
        hold = self.t.holds[hold_id]
        hold.status, hold.released_at, hold.released_by = HoldStatus.RELEASED, now, by
        payload = {"released_by": by.value}
        self.t.outbox.append(OutboxRow("hold.released", str(hold_id), payload, None))
        return freed

    def _free_seats(self, hold_id: int) -> FreedSeats:
        hold = self.t.holds[hold_id]
        freed = tuple(
            seat.id for seat in hold.seats if (hold_id, seat.id) not in self.t.released_seats
        )
        for seat_id in freed:
            self.t.released_seats.add((hold_id, seat_id))
            row = self.t.seats[seat_id]
            if row.hold_id == hold_id:
                row.status, row.hold_id = "AVAILABLE", None
        return FreedSeats(hold_id, hold.concert_id, freed)

    async def claim_expired(self, cutoff: datetime, limit: int) -> list[int]:
        due = [
            h.id
            for h in self.t.holds.values()
            if h.expires_at <= cutoff
            and (
                h.status is HoldStatus.ACTIVE
                or any(
                    r.hold_id == h.id and r.status is ReservationStatus.AWAITING_PAYMENT
                    for r in self.t.reservations.values()
                )
            )
        ]
        return due[:limit]

    async def convert(self, hold_id: int, member_id: int, now: datetime) -> Reservation:
        hold = await self.get(hold_id, member_id)
        if hold is None:
            raise NotFound("hold", hold_id)
        hold.ensure_convertible(now)
        return copy.deepcopy(_convert(self.t, self.t.holds[hold_id], now))

    async def seat_count(self, hold_id: int) -> int:
        return len(self.t.holds[hold_id].seats)


class FakeReservations(Reservations):
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    async def get(self, reservation_id: int, member_id: int | None = None) -> Reservation | None:
        found = self.t.reservations.get(reservation_id)
        if found is None or member_id not in (None, found.member_id):
            return None
        return copy.deepcopy(found)

    async def of_member(self, member_id: int) -> list[Reservation]:
        mine = [r for r in self.t.reservations.values() if r.member_id == member_id]
        return copy.deepcopy(sorted(mine, key=lambda r: (r.created_at, r.id), reverse=True))

    async def by_order(self, order_id: str, member_id: int | None = None) -> Reservation | None:
        found = next((r for r in self.t.reservations.values() if r.order_id == order_id), None)
        return None if found is None else await self.get(found.id, member_id)

    async def lock_by_order(self, order_id: str) -> Reservation | None:
        return await self.by_order(order_id)

    async def confirm(
        self, reservation: Reservation, now: datetime, *, all_or_nothing: bool = True
    ) -> bool:
        hold = self.t.holds[reservation.hold_id]
        owned = [
            s.id
            for s in hold.seats
            if (hold.id, s.id) not in self.t.released_seats
            and self.t.seats[s.id].hold_id == hold.id
        ]
        if all_or_nothing and len(owned) != len(hold.seats):
            return False
        stored = self.t.reservations[reservation.id]
        stored.status, stored.confirmed_at = ReservationStatus.CONFIRMED, now
        for seat_id in owned:
            self.t.seats[seat_id].status = "SOLD"
        return bool(owned) and len(owned) == len(hold.seats)

    async def overwrite_status(self, reservation_id: int, status: ReservationStatus) -> None:
        self.t.reservations[reservation_id].status = status


class FakePayments(Payments):
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    async def get(self, payment_key: str, *, lock: bool = False) -> PaymentRecord | None:
        row = self.t.payments.get(payment_key)
        return None if row is None else row.record()

    async def add(
        self,
        *,
        payment_key: str,
        reservation: Reservation,
        amount: int,
        now: datetime,
        next_check_at: datetime,
    ) -> None:
        if payment_key not in self.t.payments:
            self.t.payments[payment_key] = PaymentRow(
                payment_key,
                reservation.order_id,
                reservation.id,
                reservation.member_id,
                amount,
                next_check_at,
            )

    async def paid_by_other(self, order_id: str, payment_key: str) -> bool:
        return any(
            p.order_id == order_id and p.confirmed and p.payment_key != payment_key
            for p in self.t.payments.values()
        )

    async def store_settlement(
        self,
        payment_key: str,
        settlement: Settlement,
        observed: ProviderPayment,
        *,
        source: str,
        now: datetime,
        next_check_at: datetime,
    ) -> None:
        if settlement.stale:
            return
        row = self.t.payments[payment_key]
        assert settlement.status is not None
        row.status, row.outcome, row.settled = (
            settlement.status,
            settlement.outcome,
            settlement.settled,
        )
        row.captured_amount = observed.total_amount if observed.status in CAPTURED else 0
        row.refunded_amount = observed.refunded_amount
        row.failure_code = observed.failure_code or row.failure_code
        row.confirmed = row.confirmed or settlement.action.value == "confirm"
        row.last_source, row.writes, row.next_check_at = source, row.writes + 1, next_check_at

    async def mark_outcome(
        self, payment_key: str, outcome: Outcome, *, settled: bool, failure_code: str | None
    ) -> int:
        row = self.t.payments.get(payment_key)
        if row is None or row.outcome not in (None, Outcome.PENDING):
            return 0
        row.outcome, row.settled, row.failure_code = outcome, settled, failure_code
        return 1

    async def forget(self, payment_key: str, order_id: str) -> int:
        row = self.t.payments.get(payment_key)
        untouched = (
            row is not None
            and row.order_id == order_id
            and not row.confirmed
            and row.captured_amount == 0
            and row.status is PaymentStatus.READY
            and row.outcome in (None, Outcome.PENDING)
        )
        if untouched:
            del self.t.payments[payment_key]
        return int(untouched)

    async def rebind(self, payment_key: str, reservation: Reservation) -> int:
        row = self.t.payments[payment_key]
        if row.confirmed:
            return 0
        row.order_id, row.reservation_id = reservation.order_id, reservation.id
        row.member_id, row.amount = reservation.member_id, reservation.amount
        return 1

    async def overwrite(
        self, payment_key: str, observed: ProviderPayment, *, source: str, now: datetime
    ) -> None:
        row = self.t.payments[payment_key]
        done = observed.status is PaymentStatus.DONE
        row.status, row.confirmed, row.settled = observed.status, done, True
        row.captured_amount = observed.total_amount if done else row.captured_amount
        row.outcome = Outcome.CONFIRMED if done else Outcome.PENDING
        row.last_source, row.writes = source, row.writes + 1

    async def claim_unsettled(self, now: datetime, limit: int, lease_s: float) -> list[str]:
        due = [p for p in self.t.payments.values() if not p.settled and p.next_check_at <= now]
        due = sorted(due, key=lambda p: p.next_check_at)[:limit]
        for row in due:
            backoff = min(lease_s * 2 ** min(row.check_attempts, 6), 300.0)
            row.check_attempts += 1
            row.next_check_at = now + timedelta(seconds=backoff)
        return [row.payment_key for row in due]


class FakeWebhookEvents(WebhookEvents):
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    async def record_received(
        self,
        *,
        event_id: str,
        event_type: str,
        payment_key: str | None,
        order_id: str | None,
        reported_status: str | None,
        now: datetime,
    ) -> int:
        row = self.t.events.get(event_id)
        if row is None:
            row = self.t.events[event_id] = EventRow(event_id, event_type, deliveries=0)
        row.deliveries += 1
        return row.times_applied

    async def lock(self, event_id: str) -> int:
        row = self.t.events.get(event_id)
        return row.times_applied if row else 0

    async def mark_applied(self, event_id: str, applied_status: str, now: datetime) -> None:
        row = self.t.events[event_id]
        row.times_applied += 1
        row.applied_status = applied_status


class FakeOutbox(Outbox):
    def __init__(self, tables: Tables) -> None:
        self.t = tables

    async def record(
        self,
        event_type: str,
        aggregate_id: str,
        payload: Mapping[str, Any],
        correlation_id: str | None = None,
    ) -> str:
        self.t.outbox.append(OutboxRow(event_type, aggregate_id, dict(payload), correlation_id))
        return f"evt-{len(self.t.outbox)}"


class FakeUnitOfWork(UnitOfWork):
    def __init__(self, tables: Tables, isolation: Isolation | None = None) -> None:
        self.tables = tables
        self.isolation = isolation
        self.committed = False
        self._before: Tables | None = None
        self.holds = FakeHolds(tables)
        self.reservations = FakeReservations(tables)
        self.payments = FakePayments(tables)
        self.webhooks = FakeWebhookEvents(tables)
        self.outbox = FakeOutbox(tables)

    async def __aenter__(self) -> Self:
        self._before = copy.deepcopy(self.tables)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if not self.committed:
            assert self._before is not None
            commits = self.tables.commits
            self.tables.__dict__.update(self._before.__dict__)
            self.tables.commits = commits

    async def commit(self) -> None:
        self.committed = True
        self.tables.commits += 1


class FakeUnits:
    """Opens fake units of work on one ``Tables``; remembers the isolation each asked for."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables
        self.opened: list[Isolation | None] = []

    def __call__(self, isolation: Isolation | None = None) -> UnitOfWork:
        self.opened.append(isolation)
        return FakeUnitOfWork(self.tables, isolation)

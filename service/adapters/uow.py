"""The unit of work on MariaDB: one pooled connection, one transaction, five stores.

Each store runs the SQL of ``bookings``, ``reservations``, ``payments_repo`` and
``outbox`` on the unit's cursor, so everything a use case does between ``async with``
and ``commit()`` is one transaction, with the lock order and isolation notes of those
modules. ``Database.session`` does the rest: the isolation level for this transaction
only, a rollback unless committed, and overload or a lost connection as ``Contention``.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Self

from service.adapters import bookings, outbox, reservations
from service.adapters import payments_repo as repo
from service.adapters.db import Database, Session
from service.domain.holds import FreedSeats, Hold, ReleasedBy
from service.domain.payments import Outcome, PaymentRecord, ProviderPayment, Settlement
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import (
    Holds,
    Isolation,
    Outbox,
    Payments,
    Reservations,
    UnitOfWork,
    UnitsOfWork,
    WebhookEvents,
)

Cursor = Any


class SqlHolds(Holds):
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    async def get(
        self, hold_id: int, member_id: int | None = None, *, for_update: bool = False
    ) -> Hold | None:
        return await bookings.get_hold(self.cur, hold_id, member_id, for_update=for_update)

    async def release_by_member(self, hold_id: int, member_id: int, now: datetime) -> Hold:
        return await bookings.release_by_member(self.cur, hold_id, member_id, now)

    async def release_expired(
        self, hold_id: int, by: ReleasedBy, now: datetime
    ) -> FreedSeats | None:
        return await bookings.release_expired_hold(self.cur, hold_id, by, now)

    async def claim_expired(self, cutoff: datetime, limit: int) -> list[int]:
        return await bookings.claim_expired_holds(self.cur, cutoff, limit)

    async def convert(self, hold_id: int, member_id: int, now: datetime) -> Reservation:
        return await reservations.convert_hold(self.cur, hold_id, member_id, now)

    async def seat_count(self, hold_id: int) -> int:
        return await bookings.hold_seat_count(self.cur, hold_id)


class SqlReservations(Reservations):
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    async def get(self, reservation_id: int, member_id: int | None = None) -> Reservation | None:
        return await reservations.get_reservation(self.cur, reservation_id, member_id)

    async def of_member(self, member_id: int) -> list[Reservation]:
        return await reservations.list_reservations(self.cur, member_id)

    async def by_order(self, order_id: str, member_id: int | None = None) -> Reservation | None:
        return await reservations.reservation_by_order(self.cur, order_id, member_id)

    async def lock_by_order(self, order_id: str) -> Reservation | None:
        return await reservations.lock_reservation(self.cur, order_id)

    async def confirm(
        self, reservation: Reservation, now: datetime, *, all_or_nothing: bool = True
    ) -> bool:
        return await reservations.confirm_reservation(
            self.cur, reservation, now, all_or_nothing=all_or_nothing
        )

    async def overwrite_status(self, reservation_id: int, status: ReservationStatus) -> None:
        await reservations.overwrite_reservation(self.cur, reservation_id, status)


class SqlPayments(Payments):
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    async def get(self, payment_key: str, *, lock: bool = False) -> PaymentRecord | None:
        return await repo.get_payment(self.cur, payment_key, lock=lock)

    async def add(
        self,
        *,
        payment_key: str,
        reservation: Reservation,
        amount: int,
        now: datetime,
        next_check_at: datetime,
    ) -> None:
        await repo.add_payment(
            self.cur,
            payment_key=payment_key,
            reservation=reservation,
            amount=amount,
            now=now,
            next_check_at=next_check_at,
        )

    async def paid_by_other(self, order_id: str, payment_key: str) -> bool:
        return await repo.paid_by_other(self.cur, order_id, payment_key)

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
        await repo.store_settlement(
            self.cur,
            payment_key,
            settlement,
            observed,
            source=source,
            now=now,
            next_check_at=next_check_at,
        )

    async def mark_outcome(
        self, payment_key: str, outcome: Outcome, *, settled: bool, failure_code: str | None
    ) -> int:
        return await repo.mark_outcome(
            self.cur, payment_key, outcome, settled=settled, failure_code=failure_code
        )

    async def forget(self, payment_key: str, order_id: str) -> int:
        return await repo.forget_payment(self.cur, payment_key, order_id)

    async def rebind(self, payment_key: str, reservation: Reservation) -> int:
        return await repo.rebind_payment(self.cur, payment_key, reservation)

    async def overwrite(
        self, payment_key: str, observed: ProviderPayment, *, source: str, now: datetime
    ) -> None:
        await repo.overwrite_payment(self.cur, payment_key, observed, source=source, now=now)

    async def claim_unsettled(self, now: datetime, limit: int, lease_s: float) -> list[str]:
        rows = await repo.claim_unsettled(self.cur, now, limit, lease_s)
        return [row["payment_key"] for row in rows]


class SqlWebhookEvents(WebhookEvents):
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

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
        return await repo.record_event_received(
            self.cur,
            event_id=event_id,
            event_type=event_type,
            payment_key=payment_key,
            order_id=order_id,
            reported_status=reported_status,
            now=now,
        )

    async def lock(self, event_id: str) -> int:
        return await repo.lock_event(self.cur, event_id)

    async def mark_applied(self, event_id: str, applied_status: str, now: datetime) -> None:
        await repo.mark_event_applied(self.cur, event_id, applied_status, now)


class SqlOutbox(Outbox):
    def __init__(self, cur: Cursor) -> None:
        self.cur = cur

    async def record(
        self,
        event_type: str,
        aggregate_id: str,
        payload: Mapping[str, Any],
        correlation_id: str | None = None,
    ) -> str:
        return await outbox.record_event(
            self.cur, event_type, aggregate_id, payload, correlation_id
        )


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, db: Database, isolation: Isolation | None = None) -> None:
        self.db = db
        self.isolation = isolation
        self._context: AbstractAsyncContextManager[Session] | None = None
        self._session: Session | None = None

    async def __aenter__(self) -> Self:
        self._context = self.db.session(self.isolation)
        self._session = session = await self._context.__aenter__()
        cur = session.cursor
        self.holds = SqlHolds(cur)
        self.reservations = SqlReservations(cur)
        self.payments = SqlPayments(cur)
        self.webhooks = SqlWebhookEvents(cur)
        self.outbox = SqlOutbox(cur)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        context, self._context = self._context, None
        assert context is not None, "the unit of work was not entered"
        await context.__aexit__(exc_type, exc, traceback)

    async def commit(self) -> None:
        assert self._session is not None, "the unit of work was not entered"
        await self._session.commit()


def units_of_work(db: Database) -> UnitsOfWork:
    """Units of work on ``db``'s pool."""

    def open_unit(isolation: Isolation | None = None) -> UnitOfWork:
        return SqlUnitOfWork(db, isolation)

    return open_unit

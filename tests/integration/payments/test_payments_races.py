"""Settling a payment while something else holds its reservation's lock, against the real
database: what the settlement decides on must be the reservation as the lock holder left it.

Each race is made deterministic instead of hoped for: one transaction takes the hold row's
lock and keeps it open; the settlement is started and the test waits (bounded) until
MariaDB reports it waiting on that lock; only then does the holder commit. At REPEATABLE
READ the settlement's snapshot would date from before that wait, so these tests fail on a
settle that reads anything after the lock from its old snapshot, or the clock before it.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service import schema
from service.adapters import bookings, claim_sql, reservations
from service.adapters.db import Database, create_pool
from service.bootstrap import payment_deps
from service.config import Settings
from service.domain.holds import ReleasedBy
from service.domain.payments import Action, PaymentStatus, ProviderPayment, RefundReason
from service.domain.reservations import Reservation
from service.domain.venue import venue_layout
from service.ports import PaymentGateway, Refused, Result, Unreachable
from service.usecases.payments.confirm import confirm_payment
from service.usecases.payments.deps import PaymentDeps
from service.usecases.payments.settle import settle_observation
from service.usecases.payments.webhooks import WebhookEvent, receive_webhook
from tests.support.payments import payment_row, reservation_status
from tests.support.waiting import wait_until

LOCK_WAIT_BOUND_S = 2.5  # under the service's 3 s innodb_lock_wait_timeout


@pytest.fixture(scope="module")
def concert(settings: Settings) -> int:
    layout = venue_layout(zones=1, seats_per_row=20, max_rows=2)
    return schema.seed(settings, layout=layout, ticket_limit=10).concert_ids[0]


@pytest.fixture(scope="module")
async def admin(settings: Settings) -> AsyncIterator[Database]:
    """The admin account: only it may read other sessions' lock waits."""
    database = Database(await create_pool(settings.db_admin, settings, size=2), 5.0)
    try:
        yield database
    finally:
        await database.close()


@dataclass
class Clock:
    """A clock the test moves: the settlement must read it only once it holds the locks."""

    at: datetime

    def now(self) -> datetime:
        return self.at


@dataclass
class Gateway(PaymentGateway):
    """The provider as far as settling needs it: cancels succeed and are recorded."""

    cancels: list[str] = field(default_factory=list)
    on_get: Callable[[str], Awaitable[Result]] | None = None
    on_confirm: Result | None = None

    async def confirm(
        self, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> Result:
        assert self.on_confirm is not None, "no confirm expected"
        return self.on_confirm

    async def get_payment(self, payment_key: str) -> Result:
        assert self.on_get is not None, "no query expected"
        return await self.on_get(payment_key)

    async def cancel(self, payment_key: str, reason: str, idempotency_key: str) -> Result:
        self.cancels.append(payment_key)
        return ProviderPayment(payment_key, "?", PaymentStatus.CANCELED, 1, 0)


@dataclass
class Booked:
    reservation: Reservation
    seat_ids: list[int]


class SeatPool:
    """Hands out each seat of the module's concert once."""

    def __init__(self) -> None:
        self.used: set[int] = set()

    async def take(self, db: Database, concert: int, n: int) -> list[int]:
        rows = await db.fetch_all(
            "SELECT id FROM seats WHERE concert_id = %s AND status = 'AVAILABLE' ORDER BY id",
            (concert,),
        )
        free = [r["id"] for r in rows if r["id"] not in self.used][:n]
        assert len(free) == n, "the test concert ran out of seats"
        self.used.update(free)
        return free


SEATS = SeatPool()


async def new_member(db: Database) -> int:
    async with db.transaction() as cur:
        await cur.execute(
            "INSERT INTO members (issuer, subject, email, name, created_at, last_login_at)"
            " VALUES ('test', %s, NULL, NULL, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))",
            (uuid.uuid4().hex,),
        )
        return int(cur.lastrowid)


async def awaiting_payment(db: Database, concert: int, expires_at: datetime, n: int = 2) -> Booked:
    """A reservation awaiting payment for ``n`` seats, made with the service's own SQL."""
    member = await new_member(db)
    seat_ids = await SEATS.take(db, concert, n)
    now = datetime.now(UTC)
    async with db.transaction() as cur:
        seats = await claim_sql.load_seats(cur, concert, seat_ids)
        hold = await claim_sql.insert_hold(
            cur,
            concert_id=concert,
            member_id=member,
            seats=[s.ref for s in seats],
            strategy="conditional",
            now=now,
            expires_at=expires_at,
        )
        assert await claim_sql.mark_seats_held(cur, hold.id, seat_ids) == n
    async with db.transaction() as cur:
        reservation = await reservations.convert_hold(cur, hold.id, member, now)
    return Booked(reservation, seat_ids)


def done(reservation: Reservation, payment_key: str) -> ProviderPayment:
    amount = reservation.amount
    return ProviderPayment(payment_key, reservation.order_id, PaymentStatus.DONE, amount, amount)


async def lock_waiters(admin: Database, settings: Settings) -> int:
    """Transactions of this module's database waiting for a row lock right now."""
    row = await admin.fetch_one(
        "SELECT COUNT(*) AS n FROM information_schema.INNODB_TRX t"
        " JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id"
        " WHERE t.trx_state = 'LOCK WAIT' AND p.DB = %s",
        (settings.db.database,),
    )
    return int(row["n"]) if row else 0


async def until_waiting(admin: Database, settings: Settings, n: int) -> None:
    """Bounded wait until ``n`` transactions wait for a lock.

    Polled every 150 ms, not faster: InnoDB refreshes INNODB_TRX only when it has not been
    read for 100 ms, so a tighter loop would read the same stale table for ever.
    """

    async def waiting() -> bool:
        return await lock_waiters(admin, settings) >= n

    what = f"{n} transaction(s) to wait for a lock"
    await wait_until(waiting, LOCK_WAIT_BOUND_S, what, interval=0.15)


class HoldLock:
    """A transaction that locks a hold row (and may do more) and commits when told.

    As a context manager it always commits on the way out, so a failing test never leaves
    a transaction open behind it (the module's teardown would wait for it).
    """

    def __init__(self, db: Database, hold_id: int) -> None:
        self.db, self.hold_id = db, hold_id
        self.locked, self.commit = asyncio.Event(), asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def _run(self, then: Callable[[Any], Awaitable[None]] | None) -> None:
        async with self.db.transaction() as cur:
            await cur.execute("SELECT id FROM holds WHERE id = %s FOR UPDATE", (self.hold_id,))
            if then is not None:
                await then(cur)
            self.locked.set()
            await self.commit.wait()

    async def start(self, then: Callable[[Any], Awaitable[None]] | None = None) -> HoldLock:
        self.task = asyncio.create_task(self._run(then))
        done, _ = await asyncio.wait(
            [self.task, asyncio.create_task(self.locked.wait())],
            timeout=5,
            return_when=asyncio.FIRST_COMPLETED,
        )
        if self.task in done:
            self.task.result()  # raise what went wrong
        assert self.locked.is_set(), "the hold lock was not taken in time"
        return self

    async def release(self) -> None:
        assert self.task is not None
        self.commit.set()
        await asyncio.wait_for(self.task, timeout=5)

    async def __aenter__(self) -> HoldLock:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.task is not None and not self.task.done():
            self.commit.set()
            await asyncio.wait_for(self.task, timeout=5)


def deps_for(settings: Settings, db: Database, gateway: Gateway, clock: Any) -> PaymentDeps:
    return payment_deps(settings, db, gateway, clock)


class RealClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


async def test_a_payment_that_waited_for_the_expiry_refunds_instead_of_confirming(
    settings: Settings, db: Database, admin: Database, concert: int
) -> None:
    """Reviewer's repro A: the expiry consumer releases the reservation while a DONE
    payment waits for its lock; the payment must see EXPIRED and be refunded."""
    expires = datetime.now(UTC) + timedelta(seconds=30)
    booked = await awaiting_payment(db, concert, expires)
    res = booked.reservation
    gateway = Gateway()
    deps = deps_for(settings, db, gateway, Clock(expires - timedelta(milliseconds=5)))

    async def expire(cur: Any) -> None:
        late = expires + timedelta(milliseconds=1)
        assert await bookings.release_expired_hold(cur, res.hold_id, ReleasedBy.CONSUMER, late)

    async with HoldLock(db, res.hold_id) as expiry:
        await expiry.start(expire)
        settling = asyncio.create_task(settle_observation(deps, done(res, "pk_a"), "webhook", None))
        await until_waiting(admin, settings, 1)
        await expiry.release()
        applied = await asyncio.wait_for(settling, timeout=10)

    assert applied.settlement is not None
    assert (applied.settlement.action, applied.settlement.refund_reason) == (
        Action.REFUND,
        RefundReason.RESERVATION_EXPIRED,
    )
    assert gateway.cancels == ["pk_a"] and applied.refunded
    assert await reservation_status(db, res.id) == "EXPIRED"
    seats = await db.fetch_all(
        "SELECT status, hold_id FROM seats WHERE id IN (%s, %s)", tuple(booked.seat_ids)
    )
    assert seats == [{"status": "AVAILABLE", "hold_id": None}] * 2
    row = await payment_row(db, "pk_a")
    assert row is not None and (row["confirmed"], row["outcome"]) == (0, "refunded")


async def test_the_clock_is_read_after_the_lock_wait(
    settings: Settings, db: Database, admin: Database, concert: int
) -> None:
    """The reservation falls due while the payment waits: the payment expires it itself
    (recorded as released by ``payment``) and refunds, instead of confirming it late."""
    expires = datetime.now(UTC) + timedelta(seconds=30)
    booked = await awaiting_payment(db, concert, expires)
    res = booked.reservation
    gateway = Gateway()
    clock = Clock(expires - timedelta(seconds=1))
    deps = deps_for(settings, db, gateway, clock)

    async with HoldLock(db, res.hold_id) as blocker:
        await blocker.start()
        settling = asyncio.create_task(settle_observation(deps, done(res, "pk_t"), "confirm", None))
        await until_waiting(admin, settings, 1)
        clock.at = expires + timedelta(milliseconds=1)  # time passes while it waits
        await blocker.release()
        applied = await asyncio.wait_for(settling, timeout=10)

    assert applied.settlement is not None
    assert applied.settlement.action is Action.EXPIRE_AND_REFUND
    assert gateway.cancels == ["pk_t"]
    assert await reservation_status(db, res.id) == "EXPIRED"
    event = await db.fetch_one(
        "SELECT payload FROM outbox WHERE type = 'reservation.expired' AND aggregate_id = %s",
        (str(res.id),),
    )
    assert event is not None
    assert json.loads(event["payload"])["released_by"] == ReleasedBy.PAYMENT.value == "payment"


async def test_two_payments_for_one_order_confirm_it_once_and_refund_the_other(
    settings: Settings, db: Database, admin: Database, concert: int
) -> None:
    """Reviewer's repro B: two DONE payments of one order settle while a third
    transaction holds the lock; whichever goes second must see the first and refund."""
    booked = await awaiting_payment(db, concert, datetime.now(UTC) + timedelta(minutes=5))
    res = booked.reservation
    gateway = Gateway()
    deps = deps_for(settings, db, gateway, RealClock())

    async with HoldLock(db, res.hold_id) as blocker:
        await blocker.start()
        settling = [
            asyncio.create_task(settle_observation(deps, done(res, key), source, None))
            for key, source in (("pk_one", "webhook"), ("pk_two", "confirm"))
        ]
        await until_waiting(admin, settings, 2)
        await blocker.release()
        applied = await asyncio.wait_for(asyncio.gather(*settling), timeout=10)

    verdicts = sorted(
        (a.settlement.action, a.settlement.refund_reason) for a in applied if a.settlement
    )
    assert verdicts == sorted([(Action.CONFIRM, None), (Action.REFUND, RefundReason.ALREADY_PAID)])
    confirmed = [a.payment.payment_key for a in applied if a.settlement.action is Action.CONFIRM]  # type: ignore[union-attr]
    refunded = [k for k in ("pk_one", "pk_two") if k not in confirmed]
    assert gateway.cancels == refunded
    rows = await db.fetch_all(
        "SELECT payment_key, confirmed, outcome FROM payments WHERE order_id = %s"
        " ORDER BY payment_key",
        (res.order_id,),
    )
    assert {r["payment_key"]: (r["confirmed"], r["outcome"]) for r in rows} == {
        confirmed[0]: (1, "confirmed"),
        refunded[0]: (0, "refunded"),
    }
    assert await reservation_status(db, res.id) == "CONFIRMED"
    seats = await db.fetch_all(
        "SELECT status FROM seats WHERE id IN (%s, %s)", tuple(booked.seat_ids)
    )
    assert seats == [{"status": "SOLD"}] * 2


async def test_a_reservation_that_lost_a_seat_is_refunded_not_confirmed(
    settings: Settings, db: Database, concert: int
) -> None:
    """A seat taken by another hold (what ``naive`` does) cannot be sold to this
    reservation: the payment is refunded and nothing is sold or confirmed."""
    booked = await awaiting_payment(db, concert, datetime.now(UTC) + timedelta(minutes=5))
    res = booked.reservation
    intruder = await awaiting_payment(db, concert, datetime.now(UTC) + timedelta(minutes=5), n=1)
    stolen = booked.seat_ids[1]
    async with db.transaction() as cur:
        await cur.execute(
            "UPDATE seats SET hold_id = %s WHERE id = %s", (intruder.reservation.hold_id, stolen)
        )
    gateway = Gateway()
    deps = deps_for(settings, db, gateway, RealClock())

    applied = await settle_observation(deps, done(res, "pk_short"), "confirm", None)

    assert applied.settlement is not None
    assert (applied.settlement.action, applied.settlement.refund_reason) == (
        Action.REFUND,
        RefundReason.SEATS_UNAVAILABLE,
    )
    assert gateway.cancels == ["pk_short"]
    assert await reservation_status(db, res.id) == "AWAITING_PAYMENT"
    kept = await db.fetch_one("SELECT status FROM seats WHERE id = %s", (booked.seat_ids[0],))
    assert kept == {"status": "RESERVED"}
    row = await payment_row(db, "pk_short")
    assert row is not None and (row["confirmed"], row["outcome"]) == (0, "refunded")


async def test_a_stale_observation_after_done_changes_nothing(
    settings: Settings, db: Database, concert: int
) -> None:
    """What the webhook tests cannot show (the service asks the provider, which says DONE):
    an older status reaching the settle path is ignored by the state machine."""
    booked = await awaiting_payment(db, concert, datetime.now(UTC) + timedelta(minutes=5))
    res = booked.reservation
    deps = deps_for(settings, db, Gateway(), RealClock())
    await settle_observation(deps, done(res, "pk_stale"), "confirm", None)
    before = await payment_row(db, "pk_stale")
    for status in (PaymentStatus.IN_PROGRESS, PaymentStatus.READY):
        old = ProviderPayment("pk_stale", res.order_id, status, res.amount, res.amount)
        applied = await settle_observation(deps, old, "webhook", None)
        assert applied.settlement is not None and applied.settlement.stale
    assert await payment_row(db, "pk_stale") == before
    assert before is not None and (before["status"], before["confirmed"]) == ("DONE", 1)
    assert await reservation_status(db, res.id) == "CONFIRMED"


async def test_an_unknown_payment_delivered_twice_at_once_is_applied_once(
    settings: Settings, db: Database
) -> None:
    """Both deliveries see the event unapplied and both ask the provider (which does not
    know the payment); only one may count it."""
    asked = 0
    answer = asyncio.Event()

    async def unknown(payment_key: str) -> Result:
        nonlocal asked
        asked += 1
        await answer.wait()
        return Refused(404, "NOT_FOUND_PAYMENT", "The payment does not exist.")

    deps = deps_for(settings, db, Gateway(on_get=unknown), RealClock())
    event = WebhookEvent(
        "evt_unknown_" + uuid.uuid4().hex[:8],
        "PAYMENT_STATUS_CHANGED",
        "pk_nobody_knows",
        "ord_nobody_knows",
        None,
    )
    deliveries = [asyncio.create_task(receive_webhook(deps, event, None)) for _ in range(2)]

    async def both_asked() -> bool:
        return asked == 2

    await wait_until(both_asked, within=5, what="both deliveries to ask the provider")
    answer.set()
    results = await asyncio.wait_for(asyncio.gather(*deliveries), timeout=10)

    assert sorted(r.duplicate for r in results) == [False, True]
    row = await db.fetch_one(
        "SELECT times_applied, deliveries, applied_status FROM webhook_events WHERE event_id = %s",
        (event.event_id,),
    )
    assert row == {"times_applied": 1, "deliveries": 2, "applied_status": "unknown-payment"}


async def test_already_processed_with_no_answer_to_the_query_is_pending_not_a_503(
    settings: Settings, db: Database, concert: int
) -> None:
    """ALREADY_PROCESSED_PAYMENT means a capture may exist: with the query failing, the
    client is told "pending" and the row stays for the reconciler."""
    booked = await awaiting_payment(db, concert, datetime.now(UTC) + timedelta(minutes=5))
    res = booked.reservation

    async def unreachable(payment_key: str) -> Result:
        return Unreachable("timeout", maybe_processed=True)

    gateway = Gateway(
        on_get=unreachable,
        on_confirm=Refused(400, "ALREADY_PROCESSED_PAYMENT", "already processed"),
    )
    deps = deps_for(settings, db, gateway, RealClock())
    answer = await confirm_payment(deps, res.member_id, "pk_busy", res.order_id, res.amount)
    assert (answer.status, answer.reservation_status) == ("PENDING", "AWAITING_PAYMENT")
    row = await payment_row(db, "pk_busy")
    assert row is not None and (row["settled"], row["outcome"]) == (0, None)

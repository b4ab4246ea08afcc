"""The one settle path, on fakes: what a provider's observation does to a payment and its
reservation, and what is refunded. Locking and isolation are for the MariaDB tests in
``tests/integration/payments/test_payments_races.py``."""

from __future__ import annotations

import dataclasses

import pytest

from service.domain.payments import (
    Action,
    Outcome,
    PaymentStatus,
    ProviderPayment,
    RefundReason,
)
from service.domain.reservations import Reservation, ReservationStatus
from service.ports import Isolation, UnitOfWork, Unreachable
from service.usecases.payments.settle import settle_observation
from tests.unit.service.fakes import PaymentWorld


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


def captured(world: PaymentWorld, reservation: Reservation, amount: int | None = None) -> str:
    key = world.gateway.checkout(reservation.order_id, amount or reservation.amount)
    world.gateway.capture(key)
    return key


def seen(world: PaymentWorld, key: str) -> ProviderPayment:
    return world.gateway.ledger[key].payment()


async def test_settling_runs_at_read_committed_and_commits_once(world: PaymentWorld) -> None:
    reservation = world.reservation()
    key = captured(world, reservation)

    await settle_observation(world.deps, seen(world, key), "webhook", None)

    assert world.units.opened == [Isolation.READ_COMMITTED]
    assert world.tables.commits == 1


async def test_a_capture_after_the_reservation_expired_expires_it_and_is_refunded(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation(minutes=1)
    key = captured(world, reservation)
    world.clock.advance(60)

    applied = await settle_observation(world.deps, seen(world, key), "reconciler", None)

    assert applied.settlement is not None
    assert applied.settlement.action is Action.EXPIRE_AND_REFUND
    assert applied.refunded
    assert world.status_of(reservation) is ReservationStatus.EXPIRED
    assert world.tables.seat_statuses(reservation.hold_id) == ["AVAILABLE", "AVAILABLE"]
    assert world.gateway.ledger[key].status is PaymentStatus.CANCELED
    row = world.payment(key)
    assert (row.outcome, row.confirmed) == (Outcome.REFUNDED, False)
    assert world.tables.event_types() == ["reservation.expired", "payment.refunded"]
    assert world.metrics.counts["refund", RefundReason.RESERVATION_EXPIRED.value] == 1


async def test_a_second_capture_of_a_paid_reservation_is_refunded(world: PaymentWorld) -> None:
    reservation = world.reservation()
    first, second = captured(world, reservation), captured(world, reservation)
    await settle_observation(world.deps, seen(world, first), "confirm", None)

    applied = await settle_observation(world.deps, seen(world, second), "webhook", None)

    assert applied.settlement is not None
    assert applied.settlement.refund_reason is RefundReason.ALREADY_PAID
    assert world.gateway.ledger[second].status is PaymentStatus.CANCELED
    assert world.gateway.ledger[first].status is PaymentStatus.DONE
    assert world.status_of(reservation) is ReservationStatus.CONFIRMED


async def test_a_capture_of_another_amount_is_refunded_not_accepted(world: PaymentWorld) -> None:
    reservation = world.reservation()
    key = captured(world, reservation, amount=reservation.amount // 2)

    applied = await settle_observation(world.deps, seen(world, key), "webhook", None)

    assert applied.settlement is not None
    assert applied.settlement.refund_reason is RefundReason.AMOUNT_MISMATCH
    assert world.status_of(reservation) is ReservationStatus.AWAITING_PAYMENT


async def test_stale_news_after_done_changes_nothing(world: PaymentWorld) -> None:
    reservation = world.reservation()
    key = captured(world, reservation)
    await settle_observation(world.deps, seen(world, key), "confirm", None)
    before = dataclasses.replace(world.payment(key))
    old = dataclasses.replace(seen(world, key), status=PaymentStatus.IN_PROGRESS)

    applied = await settle_observation(world.deps, old, "webhook", None)

    assert applied.settlement is not None and applied.settlement.stale
    assert world.payment(key) == before
    assert world.status_of(reservation) is ReservationStatus.CONFIRMED


async def test_a_reservation_that_lost_a_seat_is_refunded_and_sells_nothing(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation()
    stolen = world.tables.holds[reservation.hold_id].seats[1].id
    world.tables.seats[stolen].hold_id = 999  # what ``naive`` does
    key = captured(world, reservation)

    applied = await settle_observation(world.deps, seen(world, key), "confirm", None)

    assert applied.settlement is not None
    assert applied.settlement.refund_reason is RefundReason.SEATS_UNAVAILABLE
    assert world.status_of(reservation) is ReservationStatus.AWAITING_PAYMENT
    assert "SOLD" not in world.tables.seat_statuses(reservation.hold_id)
    assert world.gateway.ledger[key].status is PaymentStatus.CANCELED


async def test_a_refund_the_provider_cannot_take_stays_owed_for_the_reconciler(
    world: PaymentWorld,
) -> None:
    reservation = world.reservation(minutes=1)
    key = captured(world, reservation)
    world.clock.advance(60)
    world.gateway.answer_next("cancel", Unreachable("timeout", maybe_processed=True))

    applied = await settle_observation(world.deps, seen(world, key), "webhook", None)

    assert not applied.refunded
    row = world.payment(key)
    assert (row.outcome, row.settled) == (Outcome.REFUND_PENDING, False)
    retry_in = row.next_check_at - world.clock.now()
    assert retry_in.total_seconds() == world.policy.refund_retry_s
    assert world.gateway.ledger[key].status is PaymentStatus.DONE


async def test_an_observation_for_an_unknown_order_writes_nothing(world: PaymentWorld) -> None:
    stranger = ProviderPayment("pk_x", "ord_nobody", PaymentStatus.DONE, 100, 100)

    applied = await settle_observation(world.deps, stranger, "reconciler", None)

    assert (applied.settlement, applied.reservation_id) == (None, None)
    assert world.tables.payments == {}
    assert world.tables.commits == 0


async def test_a_failure_midway_leaves_nothing_half_written(world: PaymentWorld) -> None:
    """The unit of work rolls back unless committed: the payment row added before the
    failure is gone with it."""
    reservation = world.reservation()
    key = captured(world, reservation)

    class Broken(Exception):
        pass

    async def broken_confirm(*args: object, **kwargs: object) -> bool:
        raise Broken

    def units(isolation: Isolation | None = None) -> UnitOfWork:
        unit = world.units(isolation)
        unit.reservations.confirm = broken_confirm  # type: ignore[method-assign]
        return unit

    deps = dataclasses.replace(world.deps, uow=units)
    with pytest.raises(Broken):
        await settle_observation(deps, seen(world, key), "confirm", None)

    assert world.tables.payments == {}
    assert world.tables.outbox == []
    assert world.status_of(reservation) is ReservationStatus.AWAITING_PAYMENT


async def test_the_confirm_overwrites_defect_lets_older_news_undo_a_confirm(
    world: PaymentWorld,
) -> None:
    world.policy = dataclasses.replace(world.policy, confirm_overwrites=True)
    reservation = world.reservation()
    key = captured(world, reservation)
    await settle_observation(world.deps, seen(world, key), "confirm", None)
    old = dataclasses.replace(seen(world, key), status=PaymentStatus.IN_PROGRESS)

    await settle_observation(world.deps, old, "webhook", None)

    assert world.status_of(reservation) is ReservationStatus.AWAITING_PAYMENT
    assert world.payment(key).status is PaymentStatus.IN_PROGRESS

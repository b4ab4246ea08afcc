"""The reconciler's use cases, on fakes: claims with a lease, and a GET applied."""

from __future__ import annotations

import pytest

from service.domain.payments import Outcome
from service.domain.reservations import ReservationStatus
from service.ports import Isolation, Unreachable
from service.usecases.payments.confirm import confirm_payment
from service.usecases.payments.reconcile import claim_unsettled, reconcile_payment
from tests.unit.service.fakes import PaymentWorld

LEASE_S = 6.0


@pytest.fixture
def world() -> PaymentWorld:
    return PaymentWorld()


async def pending(world: PaymentWorld) -> tuple[str, int]:
    """A confirm whose answer was lost and could not be checked: the key, the reservation."""
    reservation = world.reservation()
    key = world.gateway.checkout(reservation.order_id, reservation.amount)
    lost = Unreachable("timeout", maybe_processed=True)
    world.gateway.answer_next("confirm", lost, lose_answer=True)
    world.gateway.answer_next("get", lost)
    args = (reservation.member_id, key, reservation.order_id, reservation.amount)
    assert (await confirm_payment(world.deps, *args)).status == "PENDING"
    return key, reservation.id


async def test_a_payment_left_pending_is_claimed_once_its_grace_is_over(
    world: PaymentWorld,
) -> None:
    key, _ = await pending(world)
    assert await claim_unsettled(world.deps, 10, LEASE_S) == []

    world.clock.advance(world.policy.recheck_after_s)

    assert await claim_unsettled(world.deps, 10, LEASE_S) == [key]
    assert world.units.opened[-1] is Isolation.READ_COMMITTED


async def test_a_claimed_payment_is_not_claimed_again_within_its_lease(
    world: PaymentWorld,
) -> None:
    key, _ = await pending(world)
    world.clock.advance(world.policy.recheck_after_s)
    await claim_unsettled(world.deps, 10, LEASE_S)

    world.clock.advance(LEASE_S - 1)
    assert await claim_unsettled(world.deps, 10, LEASE_S) == []
    world.clock.advance(1)
    assert await claim_unsettled(world.deps, 10, LEASE_S) == [key]


async def test_the_reconciler_settles_a_capture_the_confirm_never_heard_of(
    world: PaymentWorld,
) -> None:
    key, reservation_id = await pending(world)

    await reconcile_payment(world.deps, key, "reconcile-1")

    assert world.tables.reservations[reservation_id].status is ReservationStatus.CONFIRMED
    assert world.payment(key).last_source == "reconciler"
    assert world.metrics.counts["reconciler", "confirmed"] == 1


async def test_a_payment_the_provider_does_not_know_is_settled_as_rejected(
    world: PaymentWorld,
) -> None:
    key, _ = await pending(world)
    del world.gateway.ledger[key]

    assert await reconcile_payment(world.deps, key, None) is None

    row = world.payment(key)
    assert (row.outcome, row.settled, row.failure_code) == (
        Outcome.REJECTED,
        True,
        "NOT_FOUND_PAYMENT",
    )


async def test_a_provider_that_cannot_be_asked_leaves_the_payment_unsettled(
    world: PaymentWorld,
) -> None:
    key, _ = await pending(world)
    world.gateway.answer_next("get", Unreachable("timeout", maybe_processed=True))

    assert await reconcile_payment(world.deps, key, None) is None

    assert world.payment(key).settled is False
    assert world.metrics.counts["reconciler", "unreachable"] == 1

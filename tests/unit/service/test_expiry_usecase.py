"""Expiring holds, on fakes: the release path the expiry consumer and the sweeper share,
and the claim strategy's release hook after it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from service.domain.holds import FreedSeats, HoldStatus, ReleasedBy
from service.domain.reservations import ReservationStatus
from service.ports import Isolation
from service.usecases.expiry import ExpiryDeps, expire_hold, sweep_expired
from tests.unit.service.fake_database import FakeUnits, Tables
from tests.unit.service.fakes import FakeClock, RecordedMetrics, RecordingClaimer


@pytest.fixture
def tables() -> Tables:
    return Tables()


@pytest.fixture
def claimer() -> RecordingClaimer:
    return RecordingClaimer()


@pytest.fixture
def deps(tables: Tables, claimer: RecordingClaimer) -> ExpiryDeps:
    return ExpiryDeps(FakeUnits(tables), claimer, FakeClock(), RecordedMetrics())


async def test_a_due_hold_is_released_and_the_strategy_told_which_seats(
    deps: ExpiryDeps, tables: Tables, claimer: RecordingClaimer
) -> None:
    hold = tables.hold(7, deps.clock.now())

    assert await expire_hold(deps, hold.id, ReleasedBy.CONSUMER, deps.clock.now())

    assert tables.holds[hold.id].status is HoldStatus.RELEASED
    assert tables.seat_statuses(hold.id) == ["AVAILABLE", "AVAILABLE"]
    seat_ids = tuple(seat.id for seat in hold.seats)
    assert claimer.released_seats == [FreedSeats(hold.id, hold.concert_id, seat_ids)]
    assert isinstance(deps.metrics, RecordedMetrics)
    assert deps.metrics.counts["holds_released", "consumer"] == 1


async def test_a_hold_not_yet_due_is_left_alone_and_the_strategy_not_told(
    deps: ExpiryDeps, tables: Tables, claimer: RecordingClaimer
) -> None:
    now = deps.clock.now()
    hold = tables.hold(7, now + timedelta(seconds=1))

    assert not await expire_hold(deps, hold.id, ReleasedBy.CONSUMER, now)

    assert tables.holds[hold.id].status is HoldStatus.ACTIVE
    assert claimer.released_seats == []


async def test_a_second_notice_for_a_released_hold_releases_nothing(
    deps: ExpiryDeps, tables: Tables, claimer: RecordingClaimer
) -> None:
    hold = tables.hold(7, deps.clock.now())
    await expire_hold(deps, hold.id, ReleasedBy.CONSUMER, deps.clock.now())

    assert not await expire_hold(deps, hold.id, ReleasedBy.CONSUMER, deps.clock.now())

    assert len(claimer.released_seats) == 1


async def test_a_failing_release_hook_does_not_undo_the_release(tables: Tables) -> None:
    deps = ExpiryDeps(
        FakeUnits(tables), RecordingClaimer(fail=True), FakeClock(), RecordedMetrics()
    )
    hold = tables.hold(7, deps.clock.now())

    assert await expire_hold(deps, hold.id, ReleasedBy.CONSUMER, deps.clock.now())

    assert tables.holds[hold.id].status is HoldStatus.RELEASED


async def test_an_unpaid_reservation_expires_and_a_paid_one_stays(
    deps: ExpiryDeps, tables: Tables
) -> None:
    now = deps.clock.now()
    unpaid, paid = tables.reservation(7, now), tables.reservation(8, now)
    tables.reservations[paid.id].status = ReservationStatus.CONFIRMED

    assert await expire_hold(deps, unpaid.hold_id, ReleasedBy.CONSUMER, now)
    assert not await expire_hold(deps, paid.hold_id, ReleasedBy.CONSUMER, now)

    assert tables.reservations[unpaid.id].status is ReservationStatus.EXPIRED
    assert tables.reservations[paid.id].status is ReservationStatus.CONFIRMED


async def test_the_sweeper_releases_what_is_past_its_grace_and_counts_it_as_its_own(
    deps: ExpiryDeps, tables: Tables, claimer: RecordingClaimer
) -> None:
    now = deps.clock.now()
    missed = tables.hold(7, now - timedelta(seconds=10))
    in_grace = tables.hold(8, now - timedelta(seconds=1))

    assert await sweep_expired(deps, now, 2.0, 100) == [missed.id]

    assert tables.holds[missed.id].released_by is ReleasedBy.SWEEPER
    assert tables.holds[in_grace.id].status is HoldStatus.ACTIVE
    assert [f.hold_id for f in claimer.released_seats] == [missed.id]
    assert isinstance(deps.uow, FakeUnits)
    assert deps.uow.opened == [Isolation.READ_COMMITTED]
    assert isinstance(deps.metrics, RecordedMetrics)
    assert deps.metrics.counts["holds_released", "sweeper"] == 1

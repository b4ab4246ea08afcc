"""Holding seats, giving them back, and turning a hold into a reservation.

The claim strategy decides how buyers of one seat are kept apart; everything else about a
hold (validation, the limit check inside the claim, expiry scheduling, metrics) is here,
identical for every strategy. Whatever a strategy keeps outside the database is undone by
its own release hook (``SeatClaimer.released``), called after every committed release.
Another member's hold or reservation is NotFound, never Forbidden: a 403 would confirm
that the id exists.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from service.domain.errors import Contention, DomainError, NotFound
from service.domain.holds import FreedSeats, Hold, ReleasedBy, hold_expiry, normalize_seat_request
from service.domain.reservations import Reservation
from service.ports import (
    ClaimRequest,
    Clock,
    HoldExpiryScheduler,
    Metrics,
    SeatClaimer,
    UnitsOfWork,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HoldRules:
    """What the settings say about holds: how many seats at once, for how long."""

    max_seats: int
    ttl_s: float


@dataclass(frozen=True)
class BookingDeps:
    rules: HoldRules
    uow: UnitsOfWork
    claimer: SeatClaimer
    expiry: HoldExpiryScheduler
    clock: Clock
    metrics: Metrics


async def place_hold(
    deps: BookingDeps, member_id: int, concert_id: int, seat_ids: Sequence[int]
) -> Hold:
    """Claims the seats with the configured strategy; the ticket limit is checked inside the
    claim's transaction (see ``claims.base``), so two requests of one member can't both pass.
    """
    wanted = normalize_seat_request(seat_ids, deps.rules.max_seats)
    now = deps.clock.now()
    request = ClaimRequest(
        concert_id=concert_id,
        member_id=member_id,
        seat_ids=tuple(wanted),
        now=now,
        expires_at=hold_expiry(now, deps.rules.ttl_s),
    )
    strategy = deps.claimer.name
    try:
        hold = await deps.claimer.claim(request)
    except DomainError as exc:
        reason = exc.reason if isinstance(exc, Contention) else exc.code
        deps.metrics.hold_refused(strategy, reason)
        raise
    deps.metrics.hold_granted(strategy)
    await _schedule_expiry(deps, hold)
    return hold


async def _schedule_expiry(deps: BookingDeps, hold: Hold) -> None:
    """The hold is committed and granted whatever happens here: failing the request would
    leave the member a hold they don't know about. The sweeper is the backstop."""
    try:
        await deps.expiry.schedule(hold.id, hold.expires_at)
    except Exception:
        log.warning("could not schedule the expiry of hold %d", hold.id, exc_info=True)


async def get_hold(deps: BookingDeps, member_id: int, hold_id: int) -> Hold:
    async with deps.uow() as uow:
        hold = await uow.holds.get(hold_id, member_id)
    if hold is None:
        raise NotFound("hold", hold_id)
    return hold


async def release_hold(deps: BookingDeps, member_id: int, hold_id: int) -> Hold:
    """Frees the seats now rather than at expiry."""
    async with deps.uow() as uow:
        hold = await uow.holds.release_by_member(hold_id, member_id, deps.clock.now())
        await uow.commit()
    deps.metrics.holds_released(ReleasedBy.MEMBER)
    seat_ids = tuple(seat.id for seat in hold.seats)
    await after_release(deps.claimer, FreedSeats(hold.id, hold.concert_id, seat_ids))
    return hold


async def after_release(claimer: SeatClaimer, freed: FreedSeats) -> None:
    """The strategy's release hook, once the release has committed: its failure is logged,
    never raised, since the seats are free whatever it does (a gate key left behind only
    expires with the hold's TTL: a lost sale, never a double booking)."""
    try:
        await claimer.released(freed)
    except Exception:
        log.warning(
            "%s: release hook failed for hold %d", claimer.name, freed.hold_id, exc_info=True
        )


async def reserve_hold(deps: BookingDeps, member_id: int, hold_id: int) -> Reservation:
    """The reservation keeps the hold's ``expires_at``, so the scheduled expiry covers it."""
    async with deps.uow() as uow:
        reservation = await uow.holds.convert(hold_id, member_id, deps.clock.now())
        await uow.commit()
    return reservation


async def list_reservations(deps: BookingDeps, member_id: int) -> list[Reservation]:
    async with deps.uow() as uow:
        return await uow.reservations.of_member(member_id)

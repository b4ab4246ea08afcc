"""Expiring holds: the one release path that the expiry consumer and the sweeper share.

A due hold, or the unpaid reservation it became, is released in one unit of work that
decides for itself whether anything is due: the release is a no-op for a hold that is
paid, not yet expired or already released, so a duplicate notice, or a sweep racing the
consumer, costs one cheap transaction and never a second release. After the commit the
claim strategy's release hook runs (redis-gate opens its keys) and the release is counted
under who did it, so the lab can tell the consumer's releases from the sweeper's catches.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from service.domain.holds import FreedSeats, ReleasedBy
from service.ports import Clock, Isolation, Metrics, SeatClaimer, UnitsOfWork
from service.usecases.holds import after_release

log = logging.getLogger(__name__)

#: The sweeper's claims are range scans: at READ COMMITTED they take no gap locks, which
#: would block new holds from being inserted while a sweep runs.
SWEEP_ISOLATION = Isolation.READ_COMMITTED


@dataclass(frozen=True)
class ExpiryDeps:
    uow: UnitsOfWork
    claimer: SeatClaimer
    clock: Clock
    metrics: Metrics


async def expire_hold(deps: ExpiryDeps, hold_id: int, by: ReleasedBy, now: datetime) -> bool:
    """Release one hold if it is due by ``now``; whether anything was released."""
    async with deps.uow() as uow:
        freed = await uow.holds.release_expired(hold_id, by, now)
        await uow.commit()
    if freed is None:
        return False
    await _after_commit(deps, [freed], by)
    return True


async def sweep_expired(deps: ExpiryDeps, now: datetime, grace_s: float, limit: int) -> list[int]:
    """Release up to ``limit`` holds due by ``now − grace_s``, in one unit of work; their ids.

    The grace leaves the expiry consumer its chance first: each hold released here is one
    the consumer missed. A hold the consumer is releasing right now is locked, hence
    skipped; one it released a moment ago is no longer selected, or is found done.
    """
    cutoff = now - timedelta(seconds=grace_s)
    freed: list[FreedSeats] = []
    async with deps.uow(SWEEP_ISOLATION) as uow:
        for hold_id in await uow.holds.claim_expired(cutoff, limit):
            released = await uow.holds.release_expired(hold_id, ReleasedBy.SWEEPER, now)
            if released is not None:
                freed.append(released)
        await uow.commit()
    if freed:
        log.warning(
            "sweeper released %d expired hold(s) the expiry consumer missed: %s",
            len(freed),
            ", ".join(str(hold_id) for hold_id in sorted(f.hold_id for f in freed)),
        )
        await _after_commit(deps, freed, ReleasedBy.SWEEPER)
    return [f.hold_id for f in freed]


async def _after_commit(deps: ExpiryDeps, freed: list[FreedSeats], by: ReleasedBy) -> None:
    deps.metrics.holds_released(by, len(freed))
    for seats in freed:
        await after_release(deps.claimer, seats)

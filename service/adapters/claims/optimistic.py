"""``optimistic``: read versions without locks, then update only if nothing changed since.

Each seat's UPDATE is guarded by the version it read and by ``status='AVAILABLE'``; they
go with the holds row in one round trip, in seat-id order. A guard that matches no row
means someone got there first: the transaction rolls back and
the claim starts over with a fresh snapshot, which then shows the seat as taken
(SeatsTaken) or, if it was freed again meanwhile, tries once more. Attempts are bounded so
a hot seat cannot spin a request forever: past the bound it is Contention (503, retryable).
"""

from __future__ import annotations

from service.adapters.claim_sql import SeatState
from service.adapters.claims.base import BaseClaimer, taken_seats
from service.adapters.round_trips import Statement
from service.domain.errors import Contention, SeatsTaken
from service.domain.holds import Hold
from service.ports import ClaimRequest


class _VersionConflict(Exception):
    """Internal: rolls the attempt's transaction back so the next one reads afresh."""


class OptimisticClaimer(BaseClaimer):
    name = "optimistic"

    async def claim(self, request: ClaimRequest) -> Hold:
        for _attempt in range(1 + max(0, self.settings.optimistic_retries)):
            try:
                return await self._attempt(request)
            except _VersionConflict:
                self.count_wait("version-conflict")
        raise Contention("optimistic-retries-exhausted")

    async def _attempt(self, request: ClaimRequest) -> Hold:
        async with self.db.transaction() as cur:
            seats = await self.begin_claim(cur, request)
            taken = taken_seats(seats)
            if taken:
                raise SeatsTaken(taken)
            hold, changed = await self.open_hold(
                cur, request, seats, [claim_version(seat) for seat in seats]
            )
            if any(n != 1 for n in changed):
                raise _VersionConflict
            return await self.close_hold(cur, hold)


def claim_version(seat: SeatState) -> Statement:
    """The new hold (``LAST_INSERT_ID()``) takes ``seat`` if it is still the version read."""
    return (
        "UPDATE seats SET status = 'HELD', hold_id = LAST_INSERT_ID(), version = version + 1"
        " WHERE id = %s AND version = %s AND status = 'AVAILABLE'",
        (seat.ref.id, seat.version),
    )

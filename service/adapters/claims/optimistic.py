"""``optimistic``: read versions without locks, then update only if nothing changed since.

Each seat's UPDATE is guarded by the version it read and by ``status='AVAILABLE'``. A
guard that matches no row means someone got there first: the transaction rolls back and
the claim starts over with a fresh snapshot, which then shows the seat as taken
(SeatsTaken) or, if it was freed again meanwhile, tries once more. Attempts are bounded so
a hot seat cannot spin a request forever: past the bound it is Contention (503, retryable).
"""

from __future__ import annotations

from service.adapters.claims.base import BaseClaimer, taken_seats
from service.adapters.zone_versions import note_changed
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
            hold = await self.open_hold(cur, request, seats)
            for seat in seats:
                await cur.execute(
                    "UPDATE seats SET status = 'HELD', hold_id = %s, version = version + 1"
                    " WHERE id = %s AND version = %s AND status = 'AVAILABLE'",
                    (hold.id, seat.ref.id, seat.version),
                )
                if cur.rowcount != 1:
                    raise _VersionConflict
                note_changed(cur, (seat.ref.id,), cur.rowcount)
            return await self.close_hold(cur, hold)

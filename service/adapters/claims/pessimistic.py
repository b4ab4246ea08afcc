"""``pessimistic``: lock the seat rows with SELECT … FOR UPDATE, then write, in one transaction.

Seat ids arrive sorted, so every buyer locks in the same order and no two wait on each
other in a cycle. A buyer who finds a seat locked waits (up to the lock-wait timeout, then
Contention); a short NOWAIT attempt first tells us that it had to wait, for the metric.
"""

from __future__ import annotations

from typing import Any

from service.adapters import claim_sql
from service.adapters.claim_sql import SeatState
from service.adapters.claims.base import BaseClaimer, taken_seats
from service.adapters.db import LOCK_WAIT_TIMEOUT, error_code
from service.domain.errors import SeatsTaken
from service.domain.holds import Hold
from service.ports import ClaimRequest


class PessimisticClaimer(BaseClaimer):
    name = "pessimistic"

    async def claim(self, request: ClaimRequest) -> Hold:
        async with self.db.transaction() as cur:
            seats = await self.begin_claim(cur, request)
            seats = await self._lock_seats(cur, seats)
            taken = taken_seats(seats)
            if taken:
                raise SeatsTaken(taken)
            hold, _ = await self.open_hold(
                cur, request, seats, [claim_sql.claim_seats(request.seat_ids, guarded=False)]
            )
            return await self.close_hold(cur, hold)

    async def _lock_seats(self, cur: Any, seats: list[SeatState]) -> list[SeatState]:
        """The seats read plainly by ``begin_claim``, as they are under their row locks."""
        try:
            return await claim_sql.lock_seats(cur, seats, nowait=True)
        except Exception as exc:
            if error_code(exc) != LOCK_WAIT_TIMEOUT:
                raise
        self.count_wait("row-lock-wait")
        return await claim_sql.lock_seats(cur, seats)

"""``naive``: read the seats, then update them without a guard. It double-books; that is its job.

The read is a plain consistent read, so two buyers both see AVAILABLE; the UPDATE names the
seats by id only, so the second buyer waits for the first one's row lock and then
overwrites it. Both holds commit, and the seat has two unreleased ``hold_seats`` rows.
"""

from __future__ import annotations

from service.adapters.claim_sql import claim_seats
from service.adapters.claims.base import BaseClaimer, taken_seats
from service.domain.errors import SeatsTaken
from service.domain.holds import Hold
from service.ports import ClaimRequest


class NaiveClaimer(BaseClaimer):
    name = "naive"

    async def claim(self, request: ClaimRequest) -> Hold:
        async with self.db.transaction() as cur:
            seats = await self.begin_claim(cur, request)
            taken = taken_seats(seats)
            if taken:
                raise SeatsTaken(taken)
            hold, _ = await self.open_hold(
                cur, request, seats, [claim_seats(request.seat_ids, guarded=False)]
            )
            return await self.close_hold(cur, hold)

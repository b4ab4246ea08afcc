"""``conditional``: one guarded UPDATE … WHERE status='AVAILABLE', checked by rows affected.

The database decides atomically per row; if fewer rows changed than were asked for, the
transaction rolls back (all or none) and the refusal names the seats someone else has.
"""

from __future__ import annotations

from service.adapters.claims.base import BaseClaimer
from service.domain.holds import Hold
from service.ports import ClaimRequest


class ConditionalClaimer(BaseClaimer):
    name = "conditional"

    async def claim(self, request: ClaimRequest) -> Hold:
        async with self.db.transaction() as cur:
            return await self.claim_guarded(cur, request)

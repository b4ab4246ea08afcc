"""Expiry notices published beside the request, not inside it.

A hold's expiry notice goes to RabbitMQ with publisher confirms: a round trip to the
broker and its disk. The hold is committed before that, and a failed publish was already
only logged (the sweeper is the backstop), so the member need not wait for it either:
``DeferredExpiryScheduler.schedule`` starts the publish as a task of its own and returns.
No hold is left without an expiry path: a publish that fails, hangs or is lost with the
process leaves the hold to the sweeper, which releases whatever is past its TTL plus grace.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from service.ports import HoldExpiryScheduler

log = logging.getLogger(__name__)
CLOSE_TIMEOUT_S = 5.0


class DeferredExpiryScheduler(HoldExpiryScheduler):
    """Runs ``inner.schedule`` in the background; ``close`` waits (bounded) for what is
    still being published, then cancels the rest."""

    def __init__(self, inner: HoldExpiryScheduler) -> None:
        self.inner = inner
        self._pending: set[asyncio.Task[None]] = set()
        self.failed = 0  # publishes that raised: their holds wait for the sweeper

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        task = asyncio.create_task(self._publish(hold_id, expires_at))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _publish(self, hold_id: int, expires_at: datetime) -> None:
        try:
            await self.inner.schedule(hold_id, expires_at)
        except Exception:
            self.failed += 1
            log.warning(
                "could not schedule the expiry of hold %d; the sweeper will release it",
                hold_id,
                exc_info=True,
            )

    async def close(self, timeout_s: float = CLOSE_TIMEOUT_S) -> None:
        if not self._pending:
            return
        _done, late = await asyncio.wait(set(self._pending), timeout=timeout_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.gather(*late, return_exceptions=True)
            log.warning("%d expiry publishes cut off at shutdown; the sweeper has them", len(late))

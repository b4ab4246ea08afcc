"""The sweeper: a periodic backstop that releases expired holds the expiry consumer missed.

Messages get lost in ways a queue cannot prevent (a publish that failed after the hold
committed, a broker restarted without its disk, a message parked after too many
retries). Every ``sweeper_interval_s`` the sweeper looks for ACTIVE holds, and CONVERTED
holds whose reservation is still AWAITING_PAYMENT, that expired at least
``sweeper_grace_s`` ago (the grace leaves the consumer its chance first), and releases
them with ``released_by='sweeper'``: each one it catches is a miss the lab can count.

Rows are claimed with ``FOR UPDATE SKIP LOCKED`` and a LIMIT (``bookings.claim_expired_holds``),
so any number of worker processes can sweep at once without waiting for each other or
releasing a hold twice.
"""

from __future__ import annotations

from service.config import Settings
from service.jobs.periodic import PeriodicJob
from service.usecases.expiry import ExpiryDeps, sweep_expired

SWEEP_LIMIT = 100


class Sweeper(PeriodicJob):
    name = "sweeper"

    def __init__(self, settings: Settings, deps: ExpiryDeps, *, limit: int = SWEEP_LIMIT) -> None:
        super().__init__(
            interval_s=settings.sweeper_interval_s, batch=limit, enabled=settings.sweeper_enabled
        )
        self.settings = settings
        self.deps = deps
        self.released_total = 0

    async def tick(self) -> int:
        released = await sweep_expired(
            self.deps, self.deps.clock.now(), self.settings.sweeper_grace_s, self.batch
        )
        self.released_total += len(released)
        return len(released)

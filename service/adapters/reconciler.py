"""The reconciler: a periodic job that settles payments the confirm call and webhooks missed.

A confirm that timed out, a webhook that never came, a refund the provider refused for a
moment: each leaves a payment row with ``settled = 0``. Every ``reconciler_interval_s``
this job claims due rows (``claim_unsettled``: FOR UPDATE SKIP LOCKED, then a lease that
grows with each attempt), asks the provider for each one (GET, never a blind retry of the
confirm) and applies the answer through the same settle path as everything else. The
claim commits before any provider call, so no row stays locked while the network is slow,
and N workers running this job never check one payment at the same time.
"""

from __future__ import annotations

import asyncio
import logging
import random
import uuid

from service.adapters import payments_repo as repo
from service.domain.errors import Contention
from service.http.telemetry import request_id_var
from service.usecases.payments import PaymentDeps, reconcile_payment

log = logging.getLogger(__name__)

BATCH = 50
JITTER = 0.2


class Reconciler:
    def __init__(self, deps: PaymentDeps, *, limit: int = BATCH) -> None:
        self.deps = deps
        self.limit = limit
        self.checked = 0
        self._task: asyncio.Task[None] | None = None

    @property
    def lease_s(self) -> float:
        """Longer than one provider call, so a claimed row is done before it is due again."""
        settings = self.deps.settings
        return max(settings.reconciler_interval_s, settings.psp_timeout_s + 1.0)

    async def run_once(self) -> int:
        """Claim due payments and settle each; how many were checked."""
        now = self.deps.clock.now()
        async with self.deps.db.transaction(isolation="READ COMMITTED") as cur:
            rows = await repo.claim_unsettled(cur, now, self.limit, self.lease_s)
        for row in rows:
            correlation = "reconcile-" + uuid.uuid4().hex[:16]
            token = request_id_var.set(correlation)
            try:
                await reconcile_payment(self.deps, row["payment_key"], correlation)
            except Contention as exc:
                log.info("reconciler: %s contended (%s)", row["payment_key"], exc.reason)
            except Exception:
                log.exception("reconciler: settling %s failed", row["payment_key"])
            finally:
                request_id_var.reset(token)
        self.checked += len(rows)
        return len(rows)

    async def start(self) -> None:
        if not self.deps.settings.reconciler_enabled:
            log.info("reconciler disabled (TICKETLAB_RECONCILER_ENABLED=false)")
            return
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="ticketlab-reconciler")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _run(self) -> None:
        interval = self.deps.settings.reconciler_interval_s
        while True:
            try:
                checked = await self.run_once()
            except Contention as exc:
                log.info("reconciler: contended (%s); next tick", exc.reason)
                checked = 0
            except Exception:
                log.exception("reconciler: tick failed; next tick")
                checked = 0
            if checked < self.limit:
                await asyncio.sleep(interval * random.uniform(1 - JITTER, 1 + JITTER))

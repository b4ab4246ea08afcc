"""The reconciler: a periodic job that settles payments the confirm call and webhooks missed.

A confirm that timed out, a webhook that never came, a refund the provider refused for a
moment: each leaves a payment row with ``settled = 0``. Every ``reconciler_interval_s``
this job claims due rows (FOR UPDATE SKIP LOCKED, then a lease that grows with each
attempt), asks the provider for each one (GET, never a blind retry of the confirm) and
applies the answer through the same settle path as everything else. The claim commits
before any provider call, so no row stays locked while the network is slow, and N workers
running this job never check one payment at the same time.
"""

from __future__ import annotations

import logging
import uuid

from service.config import Settings
from service.domain.errors import Contention
from service.jobs.periodic import PeriodicJob
from service.request_id import bound_request_id
from service.usecases.payments.deps import PaymentDeps
from service.usecases.payments.reconcile import claim_unsettled, reconcile_payment

log = logging.getLogger(__name__)

BATCH = 50


class Reconciler(PeriodicJob):
    name = "reconciler"

    def __init__(self, settings: Settings, deps: PaymentDeps, *, limit: int = BATCH) -> None:
        super().__init__(
            interval_s=settings.reconciler_interval_s,
            batch=limit,
            enabled=settings.reconciler_enabled,
        )
        self.settings = settings
        self.deps = deps
        self.checked = 0

    @property
    def lease_s(self) -> float:
        """Longer than one provider call, so a claimed row is done before it is due again."""
        settings = self.settings
        return max(settings.reconciler_interval_s, settings.psp_timeout_s + 1.0)

    async def tick(self) -> int:
        """Claim due payments and settle each, under its own request id; how many."""
        payment_keys = await claim_unsettled(self.deps, self.batch, self.lease_s)
        for payment_key in payment_keys:
            with bound_request_id("reconcile-" + uuid.uuid4().hex[:16]) as correlation:
                try:
                    await reconcile_payment(self.deps, payment_key, correlation)
                except Contention as exc:
                    log.info("reconciler: %s contended (%s)", payment_key, exc.reason)
                except Exception:
                    log.exception("reconciler: settling %s failed", payment_key)
        self.checked += len(payment_keys)
        return len(payment_keys)

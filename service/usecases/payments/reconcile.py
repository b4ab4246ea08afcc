"""Reconciling: asking the provider about payments nothing else has settled.

The reconciler job (``service.jobs.reconciler``) claims due payments with
``claim_unsettled`` and settles each with ``reconcile_payment``: a GET, never a blind
retry of the confirm, and the answer through the one settle path.
"""

from __future__ import annotations

from service.domain.payments import Outcome, ProviderPayment
from service.ports import Isolation, Refused
from service.usecases.payments.deps import Applied, PaymentDeps
from service.usecases.payments.settle import settle_observation

#: Claims are FOR UPDATE SKIP LOCKED range scans; READ COMMITTED takes no gap locks.
CLAIM_ISOLATION = Isolation.READ_COMMITTED


async def claim_unsettled(deps: PaymentDeps, limit: int, lease_s: float) -> list[str]:
    """Up to ``limit`` unsettled payments due for a check, leased to this caller; their keys.

    The claim commits before any provider call, so no row stays locked while the network
    is slow.
    """
    now = deps.clock.now()
    async with deps.uow(CLAIM_ISOLATION) as uow:
        payment_keys = await uow.payments.claim_unsettled(now, limit, lease_s)
        await uow.commit()
    return payment_keys


async def reconcile_payment(
    deps: PaymentDeps, payment_key: str, correlation: str | None
) -> Applied | None:
    """Ask the provider about one unsettled payment and apply the answer."""
    observed = await deps.gateway.get_payment(payment_key)
    if isinstance(observed, Refused) and observed.http_status == 404:
        async with deps.uow() as uow:
            await uow.payments.mark_outcome(
                payment_key, Outcome.REJECTED, settled=True, failure_code=observed.code
            )
            await uow.commit()
        deps.metrics.reconciler_checked("unknown-payment")
        return None
    if not isinstance(observed, ProviderPayment):
        deps.metrics.reconciler_checked("unreachable")
        return None
    applied = await settle_observation(deps, observed, "reconciler", correlation)
    result = applied.settlement.outcome.value if applied.settlement else "unknown-order"
    deps.metrics.reconciler_checked(result)
    return applied

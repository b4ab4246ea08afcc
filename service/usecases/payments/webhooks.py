"""The provider's webhooks: each event applied once, from what the provider says now.

A delivery's body is a snapshot that may be old or forged into a replay, so it is never
trusted for state: the event id is recorded (a redelivery is counted and skipped), the
payment is read from the provider, and that goes through the one settle path.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from service.domain.errors import ProviderUnavailable
from service.domain.payments import ProviderPayment
from service.ports import Refused, Result
from service.usecases.payments.deps import Applied, PaymentDeps
from service.usecases.payments.settle import settle_observation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookEvent:
    event_id: str
    event_type: str
    payment_key: str
    order_id: str
    reported: ProviderPayment | None  # the body's snapshot: never trusted for state


async def receive_webhook(
    deps: PaymentDeps, event: WebhookEvent, correlation: str | None
) -> Applied:
    """Record the event id, skip duplicates, read the payment from the provider, apply it."""
    async with deps.uow() as uow:
        times_applied = await uow.webhooks.record_received(
            event_id=event.event_id,
            event_type=event.event_type,
            payment_key=event.payment_key,
            order_id=event.order_id,
            reported_status=event.reported.status.value if event.reported else None,
            now=deps.clock.now(),
        )
        await uow.commit()
    no_dedupe = deps.policy.webhook_no_dedupe
    if times_applied > 0:
        deps.metrics.webhook_duplicate(applied=no_dedupe)
        if not no_dedupe:
            return Applied(None, duplicate=True)
    if deps.policy.confirm_overwrites and event.reported is not None:
        observed: Result = event.reported  # the seed's bug: the body is taken as the truth
    else:
        observed = await deps.gateway.get_payment(event.payment_key)
    if isinstance(observed, Refused) and observed.http_status == 404:
        return await _unknown_payment(deps, event)
    if not isinstance(observed, ProviderPayment):
        log.warning("webhook %s: cannot read %s: %s", event.event_id, event.payment_key, observed)
        raise ProviderUnavailable(
            "the payment provider cannot be asked about this payment now", provider="payment"
        )
    return await settle_observation(deps, observed, "webhook", correlation, event_id=event.event_id)


async def _unknown_payment(deps: PaymentDeps, event: WebhookEvent) -> Applied:
    """The provider does not know the payment: the event is applied as such, once.

    Counted under the event's lock like any other application: two deliveries that both got
    this far (both saw it unapplied) must not both count it.
    """
    async with deps.uow() as uow:
        if await uow.webhooks.lock(event.event_id) > 0 and not deps.policy.webhook_no_dedupe:
            return Applied(None, duplicate=True)
        await uow.webhooks.mark_applied(event.event_id, "unknown-payment", deps.clock.now())
        await uow.commit()
    return Applied(None)

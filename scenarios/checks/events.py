"""Message invariants: every webhook applied exactly once, and no domain event lost.

Both compare two sides of a hand-off — the provider's deliveries against what the service
applied, the service's outbox against what the consumer recorded. A duplicate on the
receiving side is a definite violation; a missing one is only definite once the quiesce
step says the sending side has finished (no retries pending, outbox drained, consumer
caught up), and otherwise makes the verdict unknown.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from scenarios.checks.result import CheckResult, judge
from scenarios.checks.snapshot import (
    CONSUMER,
    OUTBOX,
    WEBHOOKS,
    AppliedWebhook,
    Ledger,
    OutboxEvent,
    ReceivedEvents,
    Settlement,
)

WEBHOOKS_APPLIED_ONCE = "webhooks-applied-once"
NO_EVENT_LOST = "no-event-lost"


def webhooks_applied_once(
    ledger: Ledger, applied: Sequence[AppliedWebhook], settlement: Settlement | None = None
) -> CheckResult:
    """Each event the service acknowledged (a 2xx to some delivery) was applied once.

    Definite: an event applied twice or more (the ``webhook-no-dedupe`` defect), an event
    acknowledged but never applied, an event applied that the provider never sent. An
    event whose every delivery failed is not required here — the reconciler covers it.
    """
    settlement = settlement or Settlement()
    times = Counter[str]()
    for a in applied:
        times[a.event_id] += a.times_applied
    attempts = Counter(d.event_id for d in ledger.deliveries)
    sent = set(attempts)
    acknowledged = {d.event_id for d in ledger.deliveries if d.acknowledged}

    found: list[dict[str, Any]] = []
    for event_id in sorted(sent | set(times)):
        n = times.get(event_id, 0)
        if n > 1:
            problem = f"applied {n} times"
        elif n == 0 and event_id in acknowledged:
            problem = "acknowledged but never applied"
        elif n > 0 and event_id not in sent:
            problem = "applied but never sent by the provider"
        else:
            continue
        found.append(
            {
                "event_id": event_id,
                "problem": problem,
                "times_applied": n,
                "deliveries": attempts.get(event_id, 0),
            }
        )

    metrics = {
        "events_sent": len(sent),
        "events_acknowledged": len(acknowledged),
        "deliveries": len(ledger.deliveries),
        "applications": sum(times.values()),
        "events_never_acknowledged": len(sent - acknowledged),
        "pending_deliveries": ledger.pending_deliveries,
    }
    unsettled = settlement.among(WEBHOOKS)
    if ledger.pending_deliveries and WEBHOOKS not in unsettled:
        unsettled[WEBHOOKS] = f"{ledger.pending_deliveries} delivery chains still retrying"
    return judge(
        WEBHOOKS_APPLIED_ONCE,
        definite=found,
        unsettled=unsettled,
        what="webhook events not applied exactly once",
        metrics=metrics,
    )


def no_event_lost(
    outbox: Sequence[OutboxEvent], received: ReceivedEvents, settlement: Settlement | None = None
) -> CheckResult:
    """Every outbox event appears in the consumer's table exactly once.

    An event still unpublished, or published but not received while the outbox or
    consumer is unsettled, is a possible loss (unknown). Applied twice, or received but
    absent from the outbox, is definite. A redelivery the consumer deduplicated is not a
    violation (delivery is at least once); it is counted in the ``redelivered`` metric.
    The outbox must not be pruned during a run.
    """
    settlement = settlement or Settlement()
    unsettled = settlement.among(OUTBOX, CONSUMER)
    counts = Counter(r.event_id for r in received.rows)
    outbox_ids = {e.id for e in outbox}

    definite: list[dict[str, Any]] = []
    possible: list[dict[str, Any]] = []
    for e in sorted(outbox, key=lambda e: e.id):
        n = counts.get(e.id, 0)
        if n > 1:
            definite.append({"event_id": e.id, "type": e.type, "problem": f"received {n} times"})
        elif n == 0 and e.published_at is None:
            possible.append({"event_id": e.id, "type": e.type, "problem": "never published"})
        elif n == 0:
            entry = {
                "event_id": e.id,
                "type": e.type,
                "problem": "published, never received",
                "published_at": e.published_at,
            }
            (possible if unsettled else definite).append(entry)
    for event_id in sorted(set(counts) - outbox_ids):
        definite.append(
            {
                "event_id": event_id,
                "problem": "received, not in the outbox",
                "times_received": counts[event_id],
            }
        )

    unpublished = sum(1 for e in outbox if e.published_at is None)
    if unpublished and OUTBOX not in unsettled:
        unsettled[OUTBOX] = f"{unpublished} events still unpublished"
    metrics = {
        "outbox_events": len(outbox),
        "unpublished": unpublished,
        "received_rows": len(received.rows),
        "received_distinct": len(counts),
        "redelivered": sum(1 for r in received.rows if r.deliveries > 1),
    }
    return judge(
        NO_EVENT_LOST,
        definite=definite,
        possible=possible,
        unsettled=unsettled,
        what="events not received exactly once",
        metrics=metrics,
    )

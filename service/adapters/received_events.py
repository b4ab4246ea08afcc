"""The lab's record of every domain event the event consumer received.

One row per event id (the primary key is the dedupe); a repeat only increments
``deliveries``. So lost events are outbox ids without a row, and duplicates stay visible
as ``deliveries > 1``.
"""

from __future__ import annotations

from datetime import datetime

from service.adapters.db import Session, to_db
from service.domain.events import EventEnvelope

# One statement, so two copies of one event received at once cannot both count as first:
# the primary key serialises them. MariaDB reports 1 affected row for an insert and 2 for
# the update of an existing row (``deliveries`` always changes).
RECORD_RECEIPT = (
    "INSERT INTO received_events (event_id, type, aggregate_id, correlation_id,"
    " occurred_at, first_received_at, last_received_at, deliveries)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, 1)"
    " ON DUPLICATE KEY UPDATE deliveries = deliveries + 1,"
    " last_received_at = VALUES(last_received_at)"
)


async def record_receipt(session: Session, envelope: EventEnvelope, now: datetime) -> bool:
    """Recorded and committed in one round trip (``Session.commit_with``): True for the
    event's first receipt, False for a repeat."""
    moment = to_db(now)
    args = (
        envelope.id,
        envelope.type,
        envelope.aggregate_id,
        envelope.correlation_id,
        to_db(envelope.occurred_at),
        moment,
        moment,
    )
    (recorded,) = await session.commit_with([(RECORD_RECEIPT, args)])
    return recorded.rowcount == 1

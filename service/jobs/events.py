"""The event consumer: records every domain event it receives, so the lab can prove none
was lost.

It reads the recording queue (``<prefix>:events:recorded``, bound to every event type on
the events exchange; see ``amqp.declare_event_topology``) and, per message, writes one
transaction on ``received_events`` (``received_events.record_receipt``): the first
receipt of an event id inserts its row, any later one only counts a delivery (the row and
its COMMIT in one round trip). The message
is acknowledged only after the commit; if the commit fails the message is handed back
after a pause (never a tight redelivery loop), and a malformed message is rejected into
the dead queue with a log line.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from service import metrics
from service.adapters import amqp
from service.adapters.db import Database
from service.adapters.received_events import record_receipt
from service.config import Settings
from service.domain.events import EventEnvelope, MalformedEvent
from service.jobs.consuming import QueueConsumer

log = logging.getLogger(__name__)

DEFAULT_PREFETCH = 8


class EventConsumer(QueueConsumer):
    """Consumes the recording queue; a redelivery of a recorded event counts as a duplicate."""

    name = "event consumer"

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        db: Database,
        *,
        prefetch: int = DEFAULT_PREFETCH,
    ) -> None:
        super().__init__(connection, prefetch=prefetch)
        self.settings = settings
        self.db = db

    async def declare(self, channel: AbstractChannel) -> AbstractQueue:
        _, queue = await amqp.declare_event_topology(channel, self.settings)
        return queue

    def counted(self, outcome: str) -> None:
        metrics.events_received.labels(outcome=outcome).inc()

    async def handle(self, message: AbstractIncomingMessage) -> str:
        """Record and acknowledge one message; returns what happened."""
        try:
            envelope = EventEnvelope.from_json(message.body)
        except MalformedEvent as exc:
            log.warning(
                "event consumer: rejecting malformed message %r: %s", message.body[:200], exc
            )
            await message.reject(requeue=False)
            return "rejected"
        try:
            first = await self.record(envelope)
        except Exception:
            log.warning("event consumer: recording event %s failed", envelope.id, exc_info=True)
            await self.hand_back(message)
            return "requeued"
        await message.ack()
        return "recorded" if first else "duplicate"

    async def record(self, envelope: EventEnvelope) -> bool:
        async with self.db.session() as session:
            return await record_receipt(session, envelope, datetime.now(UTC))

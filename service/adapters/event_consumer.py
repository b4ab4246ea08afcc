"""The event consumer: records every domain event it receives, so the lab can prove none
was lost.

It reads the recording queue (``<prefix>:events:recorded``, bound to every event type on
the events exchange; see ``relay.declare_topology``) and, per message, writes one
transaction on ``received_events``:

- the first receipt of an event id inserts its row (``deliveries = 1``);
- any later receipt of the same id (a broker redelivery after a lost ack, or the relay
  publishing again after a lost confirm) only increments ``deliveries`` and stamps
  ``last_received_at``.

So the table has one row per event applied (the dedupe is the primary key) and the
duplicates stay visible: lost = outbox ids without a row, duplicates = ``deliveries > 1``.
The message is acknowledged only after the commit; if the commit fails the message is
handed back after a pause (never a tight redelivery loop), and a malformed message is
rejected into the dead queue with a log line.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    ConsumerTag,
)

from service import metrics
from service.adapters.db import Database, to_db
from service.adapters.relay import declare_topology
from service.config import Settings
from service.domain.events import EventEnvelope, MalformedEvent

log = logging.getLogger(__name__)

DEFAULT_PREFETCH = 8
REQUEUE_PAUSE_S = 1.0
CLOSE_GRACE_S = 5.0

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


async def record_receipt(cur: Any, envelope: EventEnvelope, now: datetime) -> bool:
    """In the caller's transaction: True for the event's first receipt, False for a repeat."""
    moment = to_db(now)
    await cur.execute(
        RECORD_RECEIPT,
        (
            envelope.id,
            envelope.type,
            envelope.aggregate_id,
            envelope.correlation_id,
            to_db(envelope.occurred_at),
            moment,
            moment,
        ),
    )
    return bool(cur.rowcount == 1)


class EventConsumer:
    """Consumes the recording queue; ``outcomes`` counts what happened, for tests and logs.

    Takes the application's robust connection: after a broker outage it reconnects, the
    robust channel re-declares the queue and re-registers this consumer by itself, and
    unacknowledged messages are redelivered (and counted as duplicates if already
    recorded).
    """

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        db: Database,
        *,
        prefetch: int = DEFAULT_PREFETCH,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.db = db
        self.prefetch = prefetch
        self.outcomes: Counter[str] = Counter()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: ConsumerTag | None = None
        self._inflight: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        _, self._queue = await declare_topology(self._channel, self.settings)
        self._consumer_tag = await self._queue.consume(self._on_message)
        log.info("event consumer reading %s (prefetch %d)", self._queue.name, self.prefetch)

    async def close(self) -> None:
        """Stop taking messages, let in-flight ones finish briefly, cancel the rest.

        A cancelled handler never acknowledged its message, so the broker redelivers it;
        if its row had committed, the redelivery is counted as a duplicate.
        """
        queue, tag, self._consumer_tag = self._queue, self._consumer_tag, None
        if queue is not None and tag is not None:
            try:
                await queue.cancel(tag, timeout=CLOSE_GRACE_S)
            except Exception:
                log.warning("event consumer: cancelling the consumer failed", exc_info=True)
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=CLOSE_GRACE_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            try:
                await channel.close()
            except Exception:
                log.debug("event consumer: closing the channel failed", exc_info=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            outcome = await self.handle(message)
        except Exception:
            # Even settling failed (the channel closed under us): the broker redelivers.
            outcome = "unsettled"
            log.warning("event consumer: could not settle a message", exc_info=True)
        finally:
            if task is not None:
                self._inflight.discard(task)
        self.outcomes[outcome] += 1
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
            await asyncio.sleep(REQUEUE_PAUSE_S)
            await message.nack(requeue=True)
            return "requeued"
        await message.ack()
        return "recorded" if first else "duplicate"

    async def record(self, envelope: EventEnvelope) -> bool:
        async with self.db.transaction() as cur:
            return await record_receipt(cur, envelope, datetime.now(UTC))

"""The queue-consumer loop: one RabbitMQ queue, read with a bounded prefetch.

The expiry consumer and the event consumer are each one ``handle`` (settle one message,
say what happened) around this one loop. Both take the application's robust connection:
after a broker outage it reconnects, the robust channel re-declares the queue and
re-registers the consumer by itself, and unacknowledged messages are redelivered.
"""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections import Counter
from typing import Any

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    ConsumerTag,
)

log = logging.getLogger(__name__)

# When a message cannot be handled now (the database is down), wait before handing it
# back, so a broken dependency does not turn into a hot redelivery loop.
REQUEUE_PAUSE_S = 1.0
CLOSE_GRACE_S = 5.0


class QueueConsumer(ABC):
    """Consumes one queue; ``outcomes`` counts what ``handle`` said of each message.

    Up to ``prefetch`` messages are handled at once, each in its own task, so one slow or
    broken message never stops the others. A handler that raises (even settling failed,
    e.g. on a closed channel) counts as ``unsettled``: the broker redelivers the message.
    """

    name = "consumer"

    def __init__(self, connection: AbstractRobustConnection, *, prefetch: int) -> None:
        self.connection = connection
        self.prefetch = prefetch
        self.outcomes: Counter[str] = Counter()
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: ConsumerTag | None = None
        self._inflight: set[asyncio.Task[Any]] = set()

    @abstractmethod
    async def declare(self, channel: AbstractChannel) -> AbstractQueue:
        """The queue to read (declared, with whatever it dead-letters into)."""

    @abstractmethod
    async def handle(self, message: AbstractIncomingMessage) -> str:
        """Settle one message (ack, reject or hand back); what happened, for ``outcomes``."""

    def counted(self, outcome: str) -> None:  # noqa: B027 (optional hook)
        """Called once per message with its outcome (for metrics)."""

    async def start(self) -> None:
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._queue = await self.declare(self._channel)
        self._consumer_tag = await self._queue.consume(self._on_message)
        log.info("%s reading %s (prefetch %d)", self.name, self._queue.name, self.prefetch)

    async def close(self) -> None:
        """Stop taking messages, let in-flight ones finish briefly, cancel the rest.

        A cancelled handler never acknowledged its message, so the broker redelivers it when
        the channel closes; every handler is idempotent.
        """
        queue, tag, self._consumer_tag = self._queue, self._consumer_tag, None
        if queue is not None and tag is not None:
            try:
                await queue.cancel(tag, timeout=CLOSE_GRACE_S)
            except Exception:
                log.warning("%s: cancelling the consumer failed", self.name, exc_info=True)
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
                log.debug("%s: closing the channel failed", self.name, exc_info=True)

    async def hand_back(self, message: AbstractIncomingMessage) -> None:
        """Requeue a message that cannot be handled now, after a pause."""
        await asyncio.sleep(REQUEUE_PAUSE_S)
        await message.nack(requeue=True)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            outcome = await self.handle(message)
        except Exception:
            outcome = "unsettled"
            log.warning("%s: could not settle a message", self.name, exc_info=True)
        finally:
            if task is not None:
                self._inflight.discard(task)
        self.outcomes[outcome] += 1
        self.counted(outcome)

"""The expiry consumer: reads the release queue and expires due holds.

Per message: malformed → rejected into the dead queue with a log line; early (clock
skew, bucket rounding) → re-delayed for the time left, so a hold is never released before
its ``expires_at``; due → released by ``expire_hold`` in one transaction and acknowledged
after the commit; the release failing (contention, database down) → republished with
backoff through a delay queue, never an immediate requeue that would spin. A release that
keeps failing is parked in the dead queue after ``MAX_ATTEMPTS``; the sweeper still
catches the hold.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
)

from service.adapters import amqp
from service.adapters.expiry import (
    ExpiryNotice,
    MalformedNotice,
    RabbitExpiryScheduler,
    attempt_of,
)
from service.config import Settings
from service.domain.errors import Contention
from service.domain.holds import ReleasedBy
from service.jobs.consuming import QueueConsumer
from service.usecases.expiry import ExpiryDeps, expire_hold

log = logging.getLogger(__name__)

DEFAULT_PREFETCH = 16
MAX_ATTEMPTS = 20
RETRY_BASE_S = 0.5
RETRY_MAX_S = 30.0

ExpireFn = Callable[[ExpiryDeps, int, ReleasedBy, datetime], Awaitable[bool]]


def retry_delay_s(attempt: int) -> float:
    """Exponential backoff for a failed release: 0.5 s, 1 s, 2 s, … capped at 30 s."""
    return min(RETRY_BASE_S * 2 ** max(attempt - 1, 0), RETRY_MAX_S)


class ExpiryConsumer(QueueConsumer):
    """Expires the holds of the release queue's notices, ``ReleasedBy.CONSUMER``.

    ``expire`` is the use case (a test may wrap it to fail on purpose); the consumer's own
    publisher sends notices round again through the delay queues.
    """

    name = "expiry consumer"

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        deps: ExpiryDeps,
        *,
        prefetch: int = DEFAULT_PREFETCH,
        expire: ExpireFn = expire_hold,
    ) -> None:
        super().__init__(connection, prefetch=prefetch)
        self.settings = settings
        self.deps = deps
        self.expire = expire
        self.publisher = RabbitExpiryScheduler(settings, connection, clock=deps.clock)

    async def declare(self, channel: AbstractChannel) -> AbstractQueue:
        return await amqp.declare_release_queue(channel, self.settings)

    async def start(self) -> None:
        await self.publisher.start()
        await super().start()

    async def close(self) -> None:
        await super().close()
        await self.publisher.close()

    async def handle(self, message: AbstractIncomingMessage) -> str:
        try:
            notice = ExpiryNotice.from_body(message.body)
        except MalformedNotice as exc:
            log.warning(
                "expiry consumer: rejecting malformed message %r: %s", message.body[:200], exc
            )
            await message.reject(requeue=False)
            return "rejected"
        attempt = attempt_of(message)
        now = self.deps.clock.now()
        if now < notice.expires_at:
            left_s = (notice.expires_at - now).total_seconds()
            return await self._republish(message, notice, left_s, attempt, "redelayed")
        try:
            released = await self.expire(self.deps, notice.hold_id, ReleasedBy.CONSUMER, now)
        except Exception as exc:
            return await self._retry(message, notice, attempt + 1, exc)
        await message.ack()
        return "released" if released else "noop"

    async def _retry(
        self, message: AbstractIncomingMessage, notice: ExpiryNotice, attempt: int, exc: Exception
    ) -> str:
        if isinstance(exc, Contention):
            log.info("expiry consumer: hold %d contended (%s)", notice.hold_id, exc.reason)
        else:
            log.warning("expiry consumer: releasing hold %d failed", notice.hold_id, exc_info=exc)
        if attempt > MAX_ATTEMPTS:
            log.error(
                "expiry consumer: giving up on hold %d after %d attempts; parked in %s,"
                " the sweeper will release it",
                notice.hold_id,
                attempt - 1,
                amqp.dead_queue_name(self.settings),
            )
            await message.reject(requeue=False)
            return "dead"
        return await self._republish(message, notice, retry_delay_s(attempt), attempt, "retried")

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        notice: ExpiryNotice,
        delay_s: float,
        attempt: int,
        outcome: str,
    ) -> str:
        """Send the notice round again through a delay queue, then ack this copy.

        The confirmed publish comes first, so a crash in between leaves a duplicate (harmless)
        rather than nothing. If the broker will not take it, the message is handed back after
        a pause instead of being redelivered at once in a tight loop.
        """
        try:
            await self.publisher.publish(notice, delay_s, attempt=attempt)
        except Exception:
            log.warning(
                "expiry consumer: could not republish hold %d; requeueing",
                notice.hold_id,
                exc_info=True,
            )
            await self.hand_back(message)
            return "requeued"
        await message.ack()
        return outcome

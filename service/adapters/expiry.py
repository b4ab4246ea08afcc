"""Hold expiry over RabbitMQ: the scheduler that publishes, and the notice it publishes.

After a hold commits, ``RabbitExpiryScheduler.schedule`` publishes ``{hold_id,
expires_at}`` to the delay queue for the hold's remaining time (see ``amqp`` for the
queue layout); when the delay queue's TTL runs out the message moves to the release
queue, and the expiry consumer (``service.jobs.expiry``) releases the hold, or the unpaid
reservation it became. Delivery is at least once and the release is idempotent, so a
duplicate costs one cheap transaction and a lost message is the sweeper's job.

The scheduler takes the application's robust connection and opens its own publishing
channel, with publisher confirms: a publish returns only once the broker has the message.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection
from aio_pika.exceptions import DeliveryError

from service.adapters import amqp
from service.clock import SystemClock
from service.config import Settings
from service.ports import Clock, HoldExpiryScheduler

ATTEMPT_HEADER = "x-ticketlab-attempt"
PUBLISH_TIMEOUT_S = 5.0


class MalformedNotice(ValueError):
    """A message on the release queue that is not a ``{hold_id, expires_at}`` notice."""


@dataclass(frozen=True)
class ExpiryNotice:
    """The message body: which hold, and when it is due (so early arrivals can be told)."""

    hold_id: int
    expires_at: datetime

    def to_body(self) -> bytes:
        return json.dumps(
            {"hold_id": self.hold_id, "expires_at": self.expires_at.astimezone(UTC).isoformat()}
        ).encode()

    @classmethod
    def from_body(cls, body: bytes) -> ExpiryNotice:
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedNotice(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedNotice("not a JSON object")
        hold_id = data.get("hold_id")
        if not isinstance(hold_id, int) or isinstance(hold_id, bool) or hold_id <= 0:
            raise MalformedNotice(f"hold_id must be a positive integer, got {hold_id!r}")
        raw = data.get("expires_at")
        if not isinstance(raw, str):
            raise MalformedNotice(f"expires_at must be an ISO 8601 string, got {raw!r}")
        try:
            expires_at = datetime.fromisoformat(raw)
        except ValueError:
            raise MalformedNotice(f"expires_at is not ISO 8601: {raw!r}") from None
        if expires_at.tzinfo is None:  # we always write UTC; be lenient on reading
            expires_at = expires_at.replace(tzinfo=UTC)
        return cls(hold_id, expires_at)


def attempt_of(message: AbstractIncomingMessage) -> int:
    value = (message.headers or {}).get(ATTEMPT_HEADER, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


class RabbitExpiryScheduler(HoldExpiryScheduler):
    """Publishes expiry notices into delay queues, declared lazily, one per delay bucket.

    The delay is ``expires_at − now`` rounded *up* to a bucket (``amqp.delay_bucket_ms``):
    with the settings TTL that is one queue of ``hold_ttl_s``; a hold whose remaining time
    differs (a slow commit, a re-delay, a retry) lands in a neighbouring bucket instead of
    waiting behind, or jumping ahead of, the rest. A notice already due goes straight to the
    release queue.

    ``schedule`` raises if the broker does not confirm within ``PUBLISH_TIMEOUT_S``; the hold
    is already committed by then, so the caller should log and carry on (the sweeper is the
    backstop) rather than fail the request.
    """

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        *,
        clock: Clock | None = None,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.clock = clock or SystemClock()
        self._channel: AbstractChannel | None = None
        self._declared: set[int] = set()
        self._starting = asyncio.Lock()

    async def start(self) -> None:
        """Open the confirming channel and make sure the release queue exists."""
        async with self._starting:
            if self._channel is not None:
                return
            channel = await self.connection.channel(publisher_confirms=True, on_return_raises=True)
            await amqp.declare_release_queue(channel, self.settings)
            self._channel = channel

    async def close(self) -> None:
        channel, self._channel = self._channel, None
        self._declared.clear()
        if channel is not None and not channel.is_closed:
            await channel.close()

    async def schedule(self, hold_id: int, expires_at: datetime) -> None:
        notice = ExpiryNotice(hold_id, expires_at)
        await self.publish(notice, (expires_at - self.clock.now()).total_seconds())

    async def publish(self, notice: ExpiryNotice, delay_s: float, *, attempt: int = 0) -> str:
        """Publish ``notice`` to arrive on the release queue in about ``delay_s``; the queue name.

        Persistent, mandatory and confirmed: when this returns, the broker has it on disk,
        and a missing queue raises instead of dropping the message silently.
        """
        await self.start()
        assert self._channel is not None
        routing_key = await self._queue_for(amqp.delay_bucket_ms(delay_s))
        message = aio_pika.Message(
            notice.to_body(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            headers={ATTEMPT_HEADER: attempt},
        )
        try:
            await self._channel.default_exchange.publish(
                message, routing_key=routing_key, timeout=PUBLISH_TIMEOUT_S
            )
        except DeliveryError:
            # Unroutable: the queue was deleted behind our back; declare it again next time.
            self._declared.discard(amqp.delay_bucket_ms(delay_s))
            raise
        return routing_key

    async def _queue_for(self, delay_ms: int) -> str:
        if delay_ms <= 0:
            return amqp.release_queue_name(self.settings)
        if delay_ms not in self._declared:
            assert self._channel is not None
            await amqp.declare_delay_queue(self._channel, self.settings, delay_ms)
            self._declared.add(delay_ms)
        return amqp.delay_queue_name(self.settings, delay_ms)

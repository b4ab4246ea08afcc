"""Hold expiry over RabbitMQ: a scheduler that publishes, a consumer that releases.

After a hold commits, ``RabbitExpiryScheduler.schedule`` publishes ``{hold_id,
expires_at}`` to the delay queue for the hold's remaining time (see ``amqp`` for the
queue layout); when the delay queue's TTL runs out the message moves to the release
queue, and ``ExpiryConsumer`` releases the hold (or the unpaid reservation it became) in
one transaction, acknowledging only after the commit. Delivery is at least once and the
release is idempotent (``release_expired_hold`` is a no-op for a paid or already-released
hold), so a duplicate costs one cheap transaction and a lost message is the sweeper's job.

Both classes take the application's robust connection and open their own channels: a
publishing channel with publisher confirms (a publish returns only once the broker has
the message), and a consuming channel with a bounded prefetch.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import aio_pika
import redis.asyncio as aioredis
from aio_pika.abc import (
    AbstractChannel,
    AbstractIncomingMessage,
    AbstractQueue,
    AbstractRobustConnection,
    ConsumerTag,
)
from aio_pika.exceptions import DeliveryError

from service import metrics
from service.adapters import amqp, bookings
from service.adapters.claims.redis_gate import clear_gate
from service.adapters.db import Database
from service.clock import SystemClock
from service.config import Settings
from service.domain.errors import Contention
from service.domain.holds import ReleasedBy
from service.ports import Clock, HoldExpiryScheduler

log = logging.getLogger(__name__)

ATTEMPT_HEADER = "x-ticketlab-attempt"
PUBLISH_TIMEOUT_S = 5.0
DEFAULT_PREFETCH = 16
# A release that keeps failing (database down, a bug) is retried with backoff through
# the delay queues, then parked in the dead queue; the sweeper still catches the hold.
MAX_ATTEMPTS = 20
RETRY_BASE_S = 0.5
RETRY_MAX_S = 30.0
# When even the retry cannot be published (broker trouble), wait before handing the
# message back, so a broken channel does not turn into a hot redelivery loop.
REQUEUE_PAUSE_S = 1.0
CLOSE_GRACE_S = 5.0

ReleaseFn = Callable[[Any, int, ReleasedBy, datetime], Awaitable[bool]]


@dataclass(frozen=True)
class FreedSeats:
    """The seats a release gave back, with the concert their gate keys are named by."""

    hold_id: int
    concert_id: int
    seat_ids: tuple[int, ...]


class GateKeeper:
    """Opens the redis-gate keys of released holds; idle under every other strategy.

    The gate is a cache of who holds a seat; a hold released by expiry must open it, or
    the seat looks taken until the key's own TTL runs out. The seats are read inside the
    release transaction and the keys deleted only after it commits.
    """

    def __init__(self, settings: Settings, redis: aioredis.Redis | None) -> None:
        self.settings = settings
        self.redis = redis if settings.claim_strategy == "redis-gate" else None

    async def seats_of(self, cur: Any, hold_id: int) -> FreedSeats | None:
        if self.redis is None:
            return None
        await cur.execute(
            "SELECT concert_id, seat_id FROM hold_seats WHERE hold_id = %s ORDER BY seat_id",
            (hold_id,),
        )
        rows = await cur.fetchall()
        if not rows:
            return None
        return FreedSeats(hold_id, rows[0]["concert_id"], tuple(r["seat_id"] for r in rows))

    async def open(self, freed: FreedSeats | None) -> None:
        """After the commit; a Redis failure is logged, never raised: the release is done."""
        if freed is None or self.redis is None:
            return
        try:
            await clear_gate(self.redis, self.settings, freed.concert_id, freed.seat_ids)
        except Exception:
            log.warning(
                "could not open the redis-gate keys of hold %d", freed.hold_id, exc_info=True
            )


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


def retry_delay_s(attempt: int) -> float:
    """Exponential backoff for a failed release: 0.5 s, 1 s, 2 s, … capped at 30 s."""
    return min(RETRY_BASE_S * 2 ** max(attempt - 1, 0), RETRY_MAX_S)


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


class ExpiryConsumer:
    """Reads the release queue and releases due holds, ``ReleasedBy.CONSUMER``.

    Per message: malformed → rejected into the dead queue with a log line; early (clock
    skew, bucket rounding) → re-delayed for the time left, so a hold is never released
    before its ``expires_at``; due → released in one transaction and acknowledged after the
    commit; the release failing (contention, database down) → republished with backoff
    through a delay queue, never an immediate requeue that would spin. Up to ``prefetch``
    messages are handled concurrently; each runs in its own task, so one slow or broken
    message never stops the others.
    """

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        db: Database,
        redis: aioredis.Redis | None = None,
        *,
        clock: Clock | None = None,
        prefetch: int = DEFAULT_PREFETCH,
        release: ReleaseFn = bookings.release_expired_hold,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.db = db
        self.gates = GateKeeper(settings, redis)
        self.clock = clock or SystemClock()
        self.prefetch = prefetch
        self.release = release
        self.outcomes: Counter[str] = Counter()
        self.publisher = RabbitExpiryScheduler(settings, connection, clock=self.clock)
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: ConsumerTag | None = None
        self._inflight: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        await self.publisher.start()
        self._channel = await self.connection.channel()
        await self._channel.set_qos(prefetch_count=self.prefetch)
        self._queue = await amqp.declare_release_queue(self._channel, self.settings)
        self._consumer_tag = await self._queue.consume(self._on_message)
        log.info("expiry consumer reading %s (prefetch %d)", self._queue.name, self.prefetch)

    async def close(self) -> None:
        """Stop taking messages, let in-flight ones finish briefly, cancel the rest.

        A message whose handler was cancelled is not acknowledged; the broker redelivers it
        when the channel closes, and the release is idempotent.
        """
        queue, tag, self._consumer_tag = self._queue, self._consumer_tag, None
        if queue is not None and tag is not None:
            try:
                await queue.cancel(tag, timeout=CLOSE_GRACE_S)
            except Exception:
                log.warning("expiry consumer: cancelling the consumer failed", exc_info=True)
        if self._inflight:
            _, pending = await asyncio.wait(set(self._inflight), timeout=CLOSE_GRACE_S)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
        channel, self._channel = self._channel, None
        if channel is not None and not channel.is_closed:
            await channel.close()
        await self.publisher.close()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
        try:
            self.outcomes[await self.handle(message)] += 1
        except Exception:
            # Reaching here means even settling the message failed (a closed channel); the
            # broker redelivers it to whoever consumes next.
            self.outcomes["unsettled"] += 1
            log.exception("expiry consumer: could not settle a message")
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def handle(self, message: AbstractIncomingMessage) -> str:
        """Settle one message; returns what happened, for ``outcomes`` and tests."""
        try:
            notice = ExpiryNotice.from_body(message.body)
        except MalformedNotice as exc:
            log.warning(
                "expiry consumer: rejecting malformed message %r: %s", message.body[:200], exc
            )
            await message.reject(requeue=False)
            return "rejected"
        attempt = attempt_of(message)
        now = self.clock.now()
        if now < notice.expires_at:
            left_s = (notice.expires_at - now).total_seconds()
            return await self._republish(message, notice, left_s, attempt, "redelayed")
        try:
            released = await self._release(notice.hold_id, now)
        except Exception as exc:
            return await self._retry(message, notice, attempt + 1, exc)
        if released:  # committed: count it even if the ack below fails
            metrics.holds_released.labels(released_by=ReleasedBy.CONSUMER.value).inc()
        await message.ack()
        return "released" if released else "noop"

    async def _release(self, hold_id: int, now: datetime) -> bool:
        freed = None
        async with self.db.transaction() as cur:
            released = await self.release(cur, hold_id, ReleasedBy.CONSUMER, now)
            if released:
                freed = await self.gates.seats_of(cur, hold_id)
        await self.gates.open(freed)
        return released

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
            await asyncio.sleep(REQUEUE_PAUSE_S)
            await message.nack(requeue=True)
            return "requeued"
        await message.ack()
        return outcome

"""The outbox relay: publishes committed outbox rows to RabbitMQ, at least once.

Each round claims up to ``outbox_relay_batch`` unpublished rows, oldest first, with
``FOR UPDATE SKIP LOCKED`` under READ COMMITTED (no gap locks, so new events keep being
inserted while a round runs), publishes them with publisher confirms, persistent and
mandatory, and stamps ``published_at`` on the rows the broker confirmed, in the same
transaction that holds their locks. So:

- N relays (one per worker process) never publish one row concurrently: a row locked by
  one round is skipped by the others, and stays locked until it is stamped.
- A row is stamped only after the broker has it on disk; a nack, an unroutable message, a
  timeout or a lost connection leaves it unpublished, to be tried again (``attempts``
  and ``last_error`` say why).
- A confirm that arrives but whose stamp never commits (a crash in between) means the row
  is published again: delivery is at least once, and consumers dedupe by event id.

While RabbitMQ is unreachable, events simply wait in the table: the relay checks that its
channel is ready before claiming rows (so it holds no database connection while the
broker is away), backs off exponentially up to ``outbox_relay_max_backoff_s``, and
carries on when the robust connection has reconnected.

Topology (names under ``settings.key``): a durable topic exchange ``<prefix>:events``
with the event type as routing key, and the lab's durable recording queue
``<prefix>:events:recorded`` bound to ``#``. The relay declares the queue too, so events
published before the consumer first starts are kept rather than dropped as unroutable.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from datetime import UTC, datetime
from typing import Any

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustChannel,
    AbstractRobustConnection,
)

from service import metrics
from service.adapters.db import Database, to_db
from service.adapters.outbox import unpublished_count
from service.config import Settings
from service.domain.errors import Contention
from service.domain.events import EventEnvelope

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 5.0
BACKOFF_BASE_S = 0.2
JITTER = 0.2
DEAD_QUEUE_MAX_LENGTH = 10_000
LAST_ERROR_LENGTH = 255

# No ORDER BY, on purpose: MariaDB (10.11) answers SKIP LOCKED with an empty result when
# the plan needs a filesort and the first rows are locked, so a second relay would find
# nothing while a backlog waits. Walking ix_outbox_pending (published_at, seq) for the
# NULLs yields the rows oldest first anyway, and needs no sort.
CLAIM_UNPUBLISHED = (
    "SELECT seq, id, type, aggregate_id, correlation_id, occurred_at, payload"
    " FROM outbox FORCE INDEX (ix_outbox_pending)"
    " WHERE published_at IS NULL LIMIT %s FOR UPDATE SKIP LOCKED"
)


def exchange_name(settings: Settings) -> str:
    return settings.key("events")


def recorded_queue_name(settings: Settings) -> str:
    return settings.key("events", "recorded")


def dead_queue_name(settings: Settings) -> str:
    return settings.key("events", "dead")


async def declare_topology(
    channel: AbstractChannel, settings: Settings
) -> tuple[AbstractExchange, AbstractQueue]:
    """The events exchange and the recording queue (dead-lettering into a bounded queue).

    Idempotent, so the relay and the consumer both call it, in either order.
    """
    exchange = await channel.declare_exchange(
        exchange_name(settings), aio_pika.ExchangeType.TOPIC, durable=True
    )
    dead = dead_queue_name(settings)
    await channel.declare_queue(
        dead, durable=True, arguments={"x-max-length": DEAD_QUEUE_MAX_LENGTH}
    )
    queue = await channel.declare_queue(
        recorded_queue_name(settings),
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead},
    )
    await queue.bind(exchange, routing_key="#")
    return exchange, queue


class BrokerUnavailable(RuntimeError):
    """The broker could not take a single event this round; the relay backs off."""


def backoff_s(failures: int, max_s: float) -> float:
    """0.2 s, 0.4 s, 0.8 s … capped at ``max_s``, ±20 % so N relays do not retry in step."""
    delay = min(BACKOFF_BASE_S * 2 ** max(failures - 1, 0), max_s)
    return delay * random.uniform(1 - JITTER, 1 + JITTER)


def envelope_of(row: dict[str, Any]) -> EventEnvelope:
    """The envelope of an outbox row; the payload is already canonical JSON."""
    return EventEnvelope(
        id=row["id"],
        type=row["type"],
        occurred_at=row["occurred_at"].replace(tzinfo=UTC),
        aggregate_id=row["aggregate_id"],
        payload=json.loads(row["payload"]),
        correlation_id=row["correlation_id"],
    )


def message_of(envelope: EventEnvelope) -> aio_pika.Message:
    """Persistent, with the event id as message id so broker tools can trace one event."""
    return aio_pika.Message(
        envelope.to_json(),
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        message_id=envelope.id,
        correlation_id=envelope.correlation_id,
        type=envelope.type,
        timestamp=envelope.occurred_at,
    )


class OutboxRelay:
    """Runs relay rounds in a background task; ``relay_once`` is one round, for tests.

    Takes the application's robust connection (it reconnects by itself) and opens its own
    confirming channel. ``start()`` never fails because the broker is away: the first
    channel is opened inside the loop, with the same backoff as any other failure.
    """

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        db: Database,
        *,
        batch_size: int | None = None,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        self.settings = settings
        self.connection = connection
        self.db = db
        self.batch_size = batch_size or settings.outbox_relay_batch
        self.publish_timeout_s = publish_timeout_s
        self.published_total = 0
        self.failed_rounds = 0
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        if not self.running:
            self._task = asyncio.create_task(self._run(), name="ticketlab-outbox-relay")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        channel, self._channel, self._exchange = self._channel, None, None
        if channel is not None and not channel.is_closed:
            try:
                await channel.close()
            except Exception:
                log.debug("outbox relay: closing the channel failed", exc_info=True)

    async def relay_once(self) -> int:
        """Publish one batch; how many rows the broker confirmed (and were stamped).

        Raises ``BrokerUnavailable`` when the channel is not ready or no row of the batch
        could be published; the rows then stay unpublished.
        """
        exchange = await self.ready()
        published: list[dict[str, Any]] = []
        failed: list[tuple[dict[str, Any], BaseException]] = []
        async with self.db.transaction(isolation="READ COMMITTED") as cur:
            await cur.execute(CLAIM_UNPUBLISHED, (self.batch_size,))
            rows = list(await cur.fetchall())
            if not rows:
                return 0
            results = await asyncio.gather(
                *(self._publish(exchange, row) for row in rows), return_exceptions=True
            )
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, BaseException):
                    failed.append((row, result))
                else:
                    published.append(row)
            if published:
                seqs = [row["seq"] for row in published]
                await cur.execute(
                    "UPDATE outbox SET published_at = %s, attempts = attempts + 1"
                    f" WHERE seq IN ({', '.join(['%s'] * len(seqs))})",
                    (to_db(datetime.now(UTC)), *seqs),
                )
            if failed:
                error = _describe(failed[0][1])
                seqs = [row["seq"] for row, _ in failed]
                await cur.execute(
                    "UPDATE outbox SET attempts = attempts + 1, last_error = %s"
                    f" WHERE seq IN ({', '.join(['%s'] * len(seqs))})",
                    (error, *seqs),
                )
        for row in published:
            metrics.outbox_published.labels(type=row["type"]).inc()
        if failed:
            metrics.outbox_publish_failures.inc(len(failed))
        self.published_total += len(published)
        if failed and not published:
            raise BrokerUnavailable(f"{len(failed)} event(s) not published: {error}")
        if failed:
            log.warning("outbox relay: %d event(s) not published: %s", len(failed), error)
        return len(published)

    async def backlog(self) -> int:
        """Unpublished rows, also set on the ``ticketlab_outbox_backlog`` gauge."""
        async with self.db.transaction() as cur:
            count = await unpublished_count(cur)
        metrics.outbox_backlog.set(count)
        return count

    async def ready(self) -> AbstractExchange:
        """The confirming channel's exchange, once the (robust) connection is up.

        Raises ``BrokerUnavailable`` after ``publish_timeout_s``.
        """
        try:
            async with asyncio.timeout(self.publish_timeout_s):
                if self._channel is None or self._exchange is None:
                    channel = self.connection.channel(
                        publisher_confirms=True, on_return_raises=True
                    )
                    self._channel = channel
                    await channel
                    self._exchange, _ = await declare_topology(channel, self.settings)
                await self._channel.ready()
        except Exception as exc:
            await self._drop_channel_if_dead()
            raise BrokerUnavailable(f"channel not ready: {_describe(exc)}") from exc
        return self._exchange

    async def _drop_channel_if_dead(self) -> None:
        """A channel that was never opened, or that the broker closed for good, is replaced;
        one the robust connection is restoring is kept."""
        channel = self._channel
        if channel is None:
            return
        if self._exchange is None or (channel.is_closed and not self.connection.is_closed):
            self._channel, self._exchange = None, None
            try:
                await channel.close()
            except Exception:
                log.debug("outbox relay: closing a dead channel failed", exc_info=True)

    async def _publish(self, exchange: AbstractExchange, row: dict[str, Any]) -> None:
        envelope = envelope_of(row)
        async with asyncio.timeout(self.publish_timeout_s):
            await exchange.publish(
                message_of(envelope),
                routing_key=envelope.type,
                mandatory=True,
                timeout=self.publish_timeout_s,
            )

    async def _run(self) -> None:
        failures = 0
        max_backoff = self.settings.outbox_relay_max_backoff_s
        while True:
            try:
                published = await self.relay_once()
                failures = 0
            except BrokerUnavailable as exc:
                failures += 1
                self.failed_rounds += 1
                level = logging.WARNING if failures in (1, 10) or failures % 100 == 0 else 10
                log.log(level, "outbox relay: broker unavailable (%s); events wait", exc)
                await asyncio.sleep(backoff_s(failures, max_backoff))
                continue
            except Contention as exc:
                log.info("outbox relay: contended (%s); trying again", exc.reason)
                published = 0
            except Exception:
                failures += 1
                self.failed_rounds += 1
                log.exception("outbox relay: round failed; trying again")
                await asyncio.sleep(backoff_s(failures, max_backoff))
                continue
            if published < self.batch_size:
                try:
                    await self.backlog()
                except Exception:
                    log.debug("outbox relay: backlog sample failed", exc_info=True)
                interval = self.settings.outbox_relay_interval_s
                await asyncio.sleep(interval * random.uniform(1 - JITTER, 1 + JITTER))


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[:LAST_ERROR_LENGTH]

"""The outbox relay: publishes committed outbox rows to RabbitMQ, at least once.

Each round claims up to ``outbox_relay_batch`` unpublished rows, oldest first, with
``FOR UPDATE SKIP LOCKED`` under READ COMMITTED (``outbox.claim_unpublished``), publishes
them with publisher confirms, persistent and mandatory, and stamps ``published_at`` on
the rows the broker confirmed, in the same transaction that holds their locks. So:

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
carries on when the robust connection has reconnected. The topology is ``amqp``'s.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection

from service import metrics
from service.adapters import amqp, outbox
from service.adapters.db import Database
from service.config import Settings
from service.jobs.periodic import PeriodicJob, jittered
from service.ports import Isolation

log = logging.getLogger(__name__)

PUBLISH_TIMEOUT_S = 5.0
BACKOFF_BASE_S = 0.2
RELAY_ISOLATION = Isolation.READ_COMMITTED


class BrokerUnavailable(RuntimeError):
    """The broker could not take a single event this round; the relay backs off."""


def backoff_s(failures: int, max_s: float) -> float:
    """0.2 s, 0.4 s, 0.8 s … capped at ``max_s``, jittered so N relays do not retry in step."""
    return jittered(min(BACKOFF_BASE_S * 2 ** max(failures - 1, 0), max_s))


class OutboxRelay(PeriodicJob):
    """Runs relay rounds in a background task; ``tick`` is one round, for tests.

    Takes the application's robust connection (it reconnects by itself) and opens its own
    confirming channel. ``start()`` never fails because the broker is away: the first
    channel is opened inside the loop, with the same backoff as any other failure.
    """

    name = "outbox relay"

    def __init__(
        self,
        settings: Settings,
        connection: AbstractRobustConnection,
        db: Database,
        *,
        batch_size: int | None = None,
        publish_timeout_s: float = PUBLISH_TIMEOUT_S,
    ) -> None:
        super().__init__(
            interval_s=settings.outbox_relay_interval_s,
            batch=batch_size or settings.outbox_relay_batch,
            enabled=settings.outbox_relay_enabled,
        )
        self.settings = settings
        self.connection = connection
        self.db = db
        self.publish_timeout_s = publish_timeout_s
        self.published_total = 0
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None

    async def close(self) -> None:
        await super().close()
        channel, self._channel, self._exchange = self._channel, None, None
        if channel is not None and not channel.is_closed:
            try:
                async with asyncio.timeout(self.publish_timeout_s):  # a channel being
                    await channel.close()  # restored while the broker is away never closes
            except Exception:
                log.debug("outbox relay: closing the channel failed", exc_info=True)

    async def tick(self) -> int:
        """Publish one batch; how many rows the broker confirmed (and were stamped).

        Raises ``BrokerUnavailable`` when the channel is not ready or no row of the batch
        could be published; the rows then stay unpublished.
        """
        exchange = await self.ready()
        published: list[dict[str, Any]] = []
        failed: list[tuple[dict[str, Any], BaseException]] = []
        async with self.db.transaction(isolation=RELAY_ISOLATION) as cur:
            rows = await outbox.claim_unpublished(cur, self.batch)
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
                now = datetime.now(UTC)
                await outbox.mark_published(cur, [row["seq"] for row in published], now)
            if failed:
                error = _describe(failed[0][1])
                await outbox.mark_failed(cur, [row["seq"] for row, _ in failed], error)
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
            count = await outbox.unpublished_count(cur)
        metrics.outbox_backlog.set(count)
        return count

    async def idle(self) -> None:
        try:
            await self.backlog()
        except Exception:
            log.debug("outbox relay: backlog sample failed", exc_info=True)

    def retry_after_s(self, failures: int) -> float:
        return backoff_s(failures, self.settings.outbox_relay_max_backoff_s)

    def log_failure(self, exc: Exception, failures: int) -> None:
        if isinstance(exc, BrokerUnavailable):
            level = logging.WARNING if failures in (1, 10) or failures % 100 == 0 else 10
            log.log(level, "outbox relay: broker unavailable (%s); events wait", exc)
        else:
            log.error("outbox relay: round failed; trying again", exc_info=exc)

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
                    self._exchange, _ = await amqp.declare_event_topology(channel, self.settings)
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
        envelope = outbox.envelope_of(row)
        async with asyncio.timeout(self.publish_timeout_s):
            await exchange.publish(
                amqp.message_of(envelope),
                routing_key=envelope.type,
                mandatory=True,
                timeout=self.publish_timeout_s,
            )


def _describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return text[: outbox.LAST_ERROR_LENGTH]

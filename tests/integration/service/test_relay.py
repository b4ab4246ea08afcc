"""The outbox relay and the event consumer, through a real RabbitMQ vhost and MariaDB.

Events are written with ``record_event`` in ordinary transactions; the relay publishes
them, the consumer records them in ``received_events``. Every wait is a bounded poll.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractExchange, AbstractIncomingMessage, AbstractRobustConnection

from service.adapters.amqp import (
    declare_event_topology,
    events_dead_queue_name,
    exchange_name,
    message_of,
)
from service.adapters.db import Database
from service.adapters.outbox import record_event
from service.config import Settings
from service.domain import events
from service.domain.events import EventEnvelope
from service.http.app import init_app
from service.jobs.events import EventConsumer
from service.jobs.relay import OutboxRelay
from tests.support.outbox import received, unpublished
from tests.support.servers import started_app
from tests.support.waiting import wait_until

RECONNECT_INTERVAL_S = 0.5


@pytest.fixture(scope="module")
async def connection(settings: Settings) -> AsyncIterator[AbstractRobustConnection]:
    conn = await aio_pika.connect_robust(
        settings.amqp_url, timeout=10, reconnect_interval=RECONNECT_INTERVAL_S
    )
    try:
        yield conn
    finally:
        await conn.close()


async def write_events(db: Database, n: int, event_type: str = events.HOLD_CREATED) -> list[str]:
    """``n`` events, each in its own committed transaction, as n requests would write them."""
    ids = []
    for i in range(n):
        async with db.transaction() as cur:
            ids.append(await record_event(cur, event_type, str(i + 1), {"n": i}))
    return ids


@asynccontextmanager
async def running(*jobs: Any) -> AsyncIterator[None]:
    for job in jobs:
        await job.start()
    try:
        yield
    finally:
        await asyncio.gather(*(job.close() for job in jobs))


async def drain(relay: OutboxRelay) -> None:
    while await relay.tick():
        pass


async def test_every_committed_event_is_published_and_received_once(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    ids = await write_events(db, 25)
    relay = OutboxRelay(settings, connection, db, batch_size=10)
    consumer = EventConsumer(settings, connection, db)
    async with running(consumer):
        await drain(relay)
        assert await unpublished(db, ids) == 0

        async def all_received() -> bool:
            return len(await received(db, ids)) == len(ids)

        await wait_until(all_received, what="every event recorded")
    assert set((await received(db, ids)).values()) == {1}
    await relay.close()


async def test_the_published_message_is_the_envelope_persistent_with_the_event_id(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    channel = await connection.channel()
    try:
        exchange, _ = await declare_event_topology(channel, settings)
        probe = await channel.declare_queue(exclusive=True, auto_delete=True)
        await probe.bind(exchange, routing_key=events.PAYMENT_REFUNDED)
        async with db.transaction() as cur:
            event_id = await record_event(
                cur, events.PAYMENT_REFUNDED, "pk_9", {"amount": 1000}, "req-9"
            )
        relay = OutboxRelay(settings, connection, db)
        await drain(relay)
        message = await probe.get(timeout=10, fail=True)
        assert message is not None
        await message.ack()
        envelope = EventEnvelope.from_json(message.body)
        assert envelope.id == message.message_id == event_id
        assert (envelope.type, envelope.aggregate_id) == ("payment.refunded", "pk_9")
        assert envelope.payload == {"amount": 1000}
        assert envelope.correlation_id == message.correlation_id == "req-9"
        assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
        assert message.routing_key == "payment.refunded"
        await relay.close()
    finally:
        await channel.close()


async def test_an_event_of_a_rolled_back_transaction_is_never_published(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    ghost: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.transaction() as cur:
            ghost.append(await record_event(cur, events.HOLD_CREATED, "1", {}))
            raise RuntimeError("rolled back")
    marker = await write_events(db, 1)
    relay = OutboxRelay(settings, connection, db)
    consumer = EventConsumer(settings, connection, db)
    async with running(consumer):
        await drain(relay)

        async def marker_received() -> bool:
            return bool(await received(db, marker))

        await wait_until(marker_received, what="the committed event")
    assert await received(db, ghost) == {}
    assert await db.fetch_one("SELECT id FROM outbox WHERE id = %s", (ghost[0],)) is None
    await relay.close()


class CountingRelay(OutboxRelay):
    """Counts every publish attempt per event id, across relays sharing ``counts``."""

    def __init__(self, *args: Any, counts: Counter[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counts = counts

    async def _publish(self, exchange: AbstractExchange, row: dict[str, Any]) -> None:
        self.counts[row["id"]] += 1
        await asyncio.sleep(0.005)  # widen the window in which a second relay could interfere
        await super()._publish(exchange, row)


async def test_two_concurrent_relays_publish_each_row_once(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    counts: Counter[str] = Counter()
    relays = [CountingRelay(settings, connection, db, batch_size=7, counts=counts) for _ in "ab"]
    await asyncio.gather(*(r.ready() for r in relays))  # both start on an equal footing
    ids = await write_events(db, 120)
    consumer = EventConsumer(settings, connection, db)
    async with running(consumer):
        await asyncio.gather(*(drain(r) for r in relays))
        assert await unpublished(db, ids) == 0

        async def all_received() -> bool:
            return len(await received(db, ids)) == len(ids)

        await wait_until(all_received, what="every event recorded")
    assert all(counts[i] == 1 for i in ids), {i: counts[i] for i in ids if counts[i] != 1}
    assert all(r.published_total > 0 for r in relays), "both relays should have had a share"
    assert set((await received(db, ids)).values()) == {1}
    for relay in relays:
        await relay.close()


async def test_the_background_relay_publishes_what_is_written_while_it_runs(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    relay = OutboxRelay(settings, connection, db)
    consumer = EventConsumer(settings, connection, db)
    async with running(relay, consumer):
        ids = await write_events(db, 10, events.RESERVATION_EXPIRED)

        async def all_received() -> bool:
            return len(await received(db, ids)) == len(ids)

        await wait_until(all_received, what="events written while the relay runs")
        assert relay.running
        assert await relay.backlog() >= 0


class CrashBeforeAck(EventConsumer):
    """Records the event, then 'crashes' before the ack: the broker redelivers it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.crashed: set[str] = set()

    async def handle(self, message: AbstractIncomingMessage) -> str:
        envelope = EventEnvelope.from_json(message.body)
        if envelope.id in self.crashed:
            return await super().handle(message)
        self.crashed.add(envelope.id)
        await self.record(envelope)
        await message.nack(requeue=True)
        return "crashed"


async def test_a_redelivered_event_is_recorded_once_with_its_duplicate_visible(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    ids = await write_events(db, 3, events.HOLD_RELEASED)
    relay = OutboxRelay(settings, connection, db)
    consumer = CrashBeforeAck(settings, connection, db)
    async with running(consumer):
        await drain(relay)

        async def redelivered() -> bool:
            return consumer.outcomes["duplicate"] >= len(ids)

        await wait_until(redelivered, what="the broker's redeliveries")
    assert await received(db, ids) == dict.fromkeys(ids, 2)
    rows = await db.fetch_all(
        "SELECT COUNT(*) AS n FROM received_events"
        f" WHERE event_id IN ({', '.join(['%s'] * len(ids))})",
        tuple(ids),
    )
    assert rows[0]["n"] == len(ids)  # one row per event: applied once
    await relay.close()


async def test_a_malformed_message_is_rejected_into_the_dead_queue(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    consumer = EventConsumer(settings, connection, db)
    channel = await connection.channel()
    try:
        async with running(consumer):
            exchange = await channel.get_exchange(exchange_name(settings))
            await exchange.publish(aio_pika.Message(b"{not json"), routing_key="hold.created")

            async def rejected() -> bool:
                return consumer.outcomes["rejected"] >= 1

            await wait_until(rejected, what="the malformed message rejected")
        dead = await channel.declare_queue(events_dead_queue_name(settings), passive=True)
        message = await dead.get(timeout=10, fail=True)
        assert message is not None
        assert message.body == b"{not json"
        await message.ack()
    finally:
        await channel.close()


async def test_the_same_envelope_published_twice_is_one_row_with_two_deliveries(
    settings: Settings, db: Database, connection: AbstractRobustConnection
) -> None:
    """What a lost publisher confirm produces: the relay publishes a row again."""
    envelope = EventEnvelope.new(events.PAYMENT_CAPTURED, "pk_dup", {"amount": 5})
    consumer = EventConsumer(settings, connection, db)
    channel = await connection.channel()
    try:
        async with running(consumer):
            exchange, _ = await declare_event_topology(channel, settings)
            for _ in range(2):
                await exchange.publish(message_of(envelope), routing_key=envelope.type)

            async def twice() -> bool:
                return (await received(db, [envelope.id])).get(envelope.id) == 2

            await wait_until(twice, what="two deliveries counted")
        row = await db.fetch_one(
            "SELECT * FROM received_events WHERE event_id = %s", (envelope.id,)
        )
        assert row is not None
        assert row["type"] == "payment.captured"
        assert row["last_received_at"] >= row["first_received_at"]
    finally:
        await channel.close()


async def test_the_app_runs_the_relay_and_the_consumer(settings: Settings, db: Database) -> None:
    """Started by ``outbox_ctx`` with the app; an event committed meanwhile is recorded."""
    async with started_app(init_app(settings)):
        ids = await write_events(db, 3, events.PAYMENT_CAPTURED)

        async def all_received() -> bool:
            return len(await received(db, ids)) == len(ids)

        await wait_until(all_received, what="events recorded by the app's jobs")

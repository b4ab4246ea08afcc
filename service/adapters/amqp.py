"""RabbitMQ plumbing: broker names, queue declarations, the connection, event messages.

Hold expiry. A hold's release is delayed without a broker plugin: the message waits in a
*delay queue* whose queue-level TTL (``x-message-ttl``) dead-letters it into the *release
queue*, which the expiry consumer reads. A queue's TTL is fixed when it is declared, so
the TTL is part of the delay queue's name, one queue per delay bucket. Per-message TTL is
never used: RabbitMQ only expires messages at the head of a queue, so a short TTL would
wait behind a long one.

Domain events. A durable topic exchange ``<prefix>:events`` takes every event with its
type as routing key; the lab's durable recording queue ``<prefix>:events:recorded`` is
bound to ``#``. The relay declares the queue too, so events published before the
consumer first starts are kept rather than dropped as unroutable.

Every name carries ``settings.key_prefix`` (through ``Settings.key``), so runs and test
modules sharing a broker never see each other's queues.
"""

from __future__ import annotations

import math

import aio_pika
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractQueue,
    AbstractRobustConnection,
)

from service.config import Settings
from service.domain.events import EventEnvelope

CONNECT_TIMEOUT_S = 10.0
# Malformed or hopeless messages are parked here for a human; bounded so a flood of
# garbage cannot fill the broker's disk.
DEAD_QUEUE_MAX_LENGTH = 10_000
# Below a second, delays are rounded up to 100 ms; above, to whole seconds. Holds share
# one TTL per deployment, so in practice there is one delay queue plus a few short ones
# for re-delays and retries.
FINE_BUCKET_MS = 100
COARSE_BUCKET_MS = 1000


def release_queue_name(settings: Settings) -> str:
    return settings.key("holds", "release")


def dead_queue_name(settings: Settings) -> str:
    return settings.key("holds", "dead")


def delay_queue_name(settings: Settings, delay_ms: int) -> str:
    return settings.key("holds", "delay", f"{delay_ms}ms")


def delay_bucket_ms(delay_s: float) -> int:
    """The delay queue a wait of ``delay_s`` goes to, in ms; 0 means "no wait".

    Rounded *up*, so a message never leaves its delay queue before it is due; the cost is
    at most one bucket of lateness.
    """
    if delay_s <= 0:
        return 0
    ms = math.ceil(delay_s * 1000)
    step = FINE_BUCKET_MS if ms < COARSE_BUCKET_MS else COARSE_BUCKET_MS
    return math.ceil(ms / step) * step


async def connect(
    settings: Settings, timeout_s: float = CONNECT_TIMEOUT_S
) -> AbstractRobustConnection:
    """A robust connection: it reconnects and re-declares queues and consumers by itself."""
    return await aio_pika.connect_robust(settings.amqp_url, timeout=timeout_s)


async def declare_dead_lettered(channel: AbstractChannel, name: str, dead: str) -> AbstractQueue:
    """Durable queue ``name``, dead-lettering rejected messages into the bounded ``dead``."""
    await channel.declare_queue(
        dead, durable=True, arguments={"x-max-length": DEAD_QUEUE_MAX_LENGTH}
    )
    return await channel.declare_queue(
        name,
        durable=True,
        arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": dead},
    )


async def declare_release_queue(channel: AbstractChannel, settings: Settings) -> AbstractQueue:
    """The release queue the expiry consumer reads."""
    return await declare_dead_lettered(
        channel, release_queue_name(settings), dead_queue_name(settings)
    )


async def declare_delay_queue(
    channel: AbstractChannel, settings: Settings, delay_ms: int
) -> AbstractQueue:
    """A queue nobody consumes: after ``delay_ms`` its messages move to the release queue."""
    return await channel.declare_queue(
        delay_queue_name(settings, delay_ms),
        durable=True,
        arguments={
            "x-message-ttl": delay_ms,
            "x-dead-letter-exchange": "",
            "x-dead-letter-routing-key": release_queue_name(settings),
        },
    )


def exchange_name(settings: Settings) -> str:
    return settings.key("events")


def recorded_queue_name(settings: Settings) -> str:
    return settings.key("events", "recorded")


def events_dead_queue_name(settings: Settings) -> str:
    return settings.key("events", "dead")


async def declare_event_topology(
    channel: AbstractChannel, settings: Settings
) -> tuple[AbstractExchange, AbstractQueue]:
    """The events exchange and the recording queue bound to every type on it.

    Idempotent, so the relay and the consumer both call it, in either order.
    """
    exchange = await channel.declare_exchange(
        exchange_name(settings), aio_pika.ExchangeType.TOPIC, durable=True
    )
    queue = await declare_dead_lettered(
        channel, recorded_queue_name(settings), events_dead_queue_name(settings)
    )
    await queue.bind(exchange, routing_key="#")
    return exchange, queue


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

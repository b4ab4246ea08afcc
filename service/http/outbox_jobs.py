"""The outbox relay and the event consumer as app background jobs.

Every worker process runs both (``TICKETLAB_OUTBOX_RELAY_ENABLED``,
``TICKETLAB_EVENT_CONSUMER_ENABLED``): relays claim rows with ``SKIP LOCKED`` and the
consumer's table dedupes, so N of each are safe. They share the app's robust RabbitMQ
connection, which reconnects by itself after a broker outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import web

from service.http.keys import AMQP, JOBS_DB, SETTINGS
from service.jobs.events import EventConsumer
from service.jobs.relay import OutboxRelay


async def outbox_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    consumer = EventConsumer(settings, app[AMQP], app[JOBS_DB])
    relay = OutboxRelay(settings, app[AMQP], app[JOBS_DB])
    if settings.event_consumer_enabled:
        await consumer.start()
    if settings.outbox_relay_enabled:
        await relay.start()
    yield
    await asyncio.gather(relay.close(), consumer.close())

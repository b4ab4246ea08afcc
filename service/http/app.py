"""The app factory: one function builds the service for ``python -m service`` and for tests.

Each resource is opened and closed by one async generator in ``app.cleanup_ctx``, in
dependency order (database and Redis first, then the broker, then what uses them), so a
failed start-up or a shutdown closes exactly what was opened.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aio_pika
import redis.asyncio as aioredis
from aiohttp import web

from service.adapters.claims import build_claimer
from service.adapters.db import Database, create_pool
from service.adapters.expiry import RabbitExpiryScheduler
from service.clock import SystemClock
from service.config import Settings
from service.http.auth import setup_auth
from service.http.defects import defect_middlewares
from service.http.keys import AMQP, BOOKING, DB, JOBS_DB, REDIS, SETTINGS
from service.http.outbox_jobs import outbox_ctx
from service.http.payments import setup_payments
from service.http.problems import problem_middleware
from service.http.routes import setup_routes
from service.http.telemetry import sampler_ctx, telemetry_middleware
from service.jobs.expiry import ExpiryConsumer
from service.jobs.sweeper import Sweeper
from service.usecases.expiry import ExpiryDeps
from service.usecases.holds import BookingDeps

AMQP_CONNECT_TIMEOUT_S = 10.0
JOBS_POOL_TIMEOUT_S = 30.0  # jobs answer no user: under load they queue rather than fail


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """Two pools: requests, and the background jobs (expiry, sweeper, outbox), so a flood
    of requests cannot starve the jobs that release holds and publish events."""
    settings = app[SETTINGS]
    pool = await create_pool(settings.db, settings)
    leak = settings.has_defect("pool-leak")
    app[DB] = Database(pool, settings.db_pool_timeout_s, leak_on_refusal=leak)
    jobs_pool = await create_pool(settings.db, settings, size=settings.db_jobs_pool_size)
    app[JOBS_DB] = Database(jobs_pool, JOBS_POOL_TIMEOUT_S)
    yield
    await app[JOBS_DB].close()
    await app[DB].close()


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """A blocking pool: past its size, callers wait (bounded) instead of failing at once."""
    settings = app[SETTINGS]
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=settings.db_pool_timeout_s,
        decode_responses=True,
    )
    client = aioredis.Redis(connection_pool=pool)
    await client.ping()
    app[REDIS] = client
    yield
    await client.aclose()
    await pool.aclose()


async def amqp_ctx(app: web.Application) -> AsyncIterator[None]:
    connection = await aio_pika.connect_robust(
        app[SETTINGS].amqp_url, timeout=AMQP_CONNECT_TIMEOUT_S
    )
    app[AMQP] = connection
    yield
    await connection.close()


async def booking_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    scheduler = RabbitExpiryScheduler(settings, app[AMQP])
    await scheduler.start()
    app[BOOKING] = BookingDeps(
        settings=settings,
        db=app[DB],
        claimer=build_claimer(settings.claim_strategy, settings, app[DB], app[REDIS]),
        expiry=scheduler,
        clock=SystemClock(),
    )
    yield
    await scheduler.close()


async def background_jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    """The expiry consumer and the sweeper; every worker runs both (rows are claimed safely)."""
    settings = app[SETTINGS]
    deps = ExpiryDeps(db=app[JOBS_DB], claimer=app[BOOKING].claimer, clock=SystemClock())
    consumer = ExpiryConsumer(settings, app[AMQP], deps)
    sweeper = Sweeper(settings, deps)
    await consumer.start()
    await sweeper.start()
    yield
    await asyncio.gather(consumer.close(), sweeper.close())


def init_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[telemetry_middleware, problem_middleware, *defect_middlewares(settings)],
        client_max_size=settings.max_body_bytes,
    )
    app[SETTINGS] = settings
    app.cleanup_ctx.extend(
        [database_ctx, redis_ctx, amqp_ctx, booking_ctx, background_jobs_ctx, sampler_ctx]
    )
    app.cleanup_ctx.append(outbox_ctx)
    setup_auth(app)
    setup_routes(app)
    setup_payments(app)
    return app

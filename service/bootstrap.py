"""The composition root: what the service is made of, opened in order and closed in reverse.

``install(app, settings)`` puts the settings on the app and every resource context on
``app.cleanup_ctx``, in the order of ``RESOURCES``: the pools, Redis, the broker, the
provider clients, then the dependencies the use cases run with, then the background jobs
that drive them, then the sampler. aiohttp enters them in that order and leaves them in
reverse, so a failed start-up or a shutdown closes exactly what was opened.

All of the application's typed keys are here. Views read the one ``Dependencies`` object
(``DEPS``); only the sign-in views and the health checks read resources directly. Nothing
connects at import time, and tests build their pieces with the same functions
(``booking_deps``, ``payment_deps``, ``expiry_deps``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Protocol

import aio_pika
import aiohttp
import redis.asyncio as aioredis
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from service.adapters.availability import CachedAvailability, DatabaseAvailability
from service.adapters.catalog import SqlCatalog
from service.adapters.claims import build_claimer
from service.adapters.db import Database, create_pool
from service.adapters.deferred_expiry import DeferredExpiryScheduler
from service.adapters.expiry import RabbitExpiryScheduler
from service.adapters.oidc import DEFAULT_TIMEOUT, OidcClient
from service.adapters.prometheus import PrometheusMetrics
from service.adapters.psp_client import PspClient
from service.adapters.rate_limiter import RateLimiter
from service.adapters.replica import HeartbeatLag, NoReplica, NoWriteMarks, RedisWriteMarks
from service.adapters.uow import units_of_work
from service.clock import SystemClock
from service.config import Settings
from service.domain.reads import ReadPolicy, ReadSource
from service.jobs.events import EventConsumer
from service.jobs.expiry import ExpiryConsumer
from service.jobs.reconciler import Reconciler
from service.jobs.relay import OutboxRelay
from service.jobs.sampler import Sampler
from service.jobs.sweeper import Sweeper
from service.ports import Clock, HoldExpiryScheduler, PaymentGateway
from service.read_ports import Availability, Catalog, ReadStores
from service.usecases.expiry import ExpiryDeps
from service.usecases.holds import BookingDeps, HoldRules
from service.usecases.payments.deps import PaymentDeps, PaymentPolicy
from service.usecases.reads import ReadDeps

CHECKOUT_PATH = "/_lab/checkout"  # the lab provider's stand-in for Toss's payment window
AMQP_CONNECT_TIMEOUT_S = 10.0
JOBS_POOL_TIMEOUT_S = 30.0  # jobs answer no user: under load they queue rather than fail
OIDC_POOL_LIMIT = 100

CleanupContext = Callable[[web.Application], AsyncIterator[None]]


class BackgroundJob(Protocol):
    """What every background job offers its owner."""

    async def start(self) -> None: ...

    async def close(self) -> None: ...


@dataclass(frozen=True)
class Dependencies:
    """What the views and the jobs call use cases with, built once the resources are open."""

    settings: Settings
    clock: Clock
    catalog: Catalog
    booking: BookingDeps
    payments: PaymentDeps
    expiry: ExpiryDeps
    reads: ReadDeps


SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
JOBS_DB = web.AppKey("jobs_db", Database)
REPLICA_DB = web.AppKey("replica_db", Database)  # only with a read policy other than primary
REDIS = web.AppKey("redis", aioredis.Redis)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
AMQP = web.AppKey("amqp", AbstractRobustConnection)
PSP_CLIENT = web.AppKey("psp_client", PspClient)
OIDC_CLIENT = web.AppKey("oidc_client", OidcClient)
DEPS = web.AppKey("deps", Dependencies)
JOBS: web.AppKey[list[BackgroundJob]] = web.AppKey("jobs")


# -- how the use cases are wired (tests call these too) -----------------------------------


METRICS = PrometheusMetrics()


def booking_deps(
    settings: Settings,
    db: Database,
    redis: aioredis.Redis,
    expiry: HoldExpiryScheduler,
    clock: Clock | None = None,
) -> BookingDeps:
    """Holds are claimed by the configured strategy, on ``db``'s pool."""
    return BookingDeps(
        rules=HoldRules(max_seats=settings.max_seats_per_hold, ttl_s=settings.hold_ttl_s),
        uow=units_of_work(db),
        claimer=build_claimer(settings.claim_strategy, settings, db, redis),
        expiry=expiry,
        clock=clock or SystemClock(),
        metrics=METRICS,
    )


def availability(settings: Settings, db: Database) -> Availability:
    """Seat maps and zones from each worker's read model, or from the database every time
    (``TICKETLAB_READ_MODEL=off``; ``read_deps`` then reads the database the read policy
    picks, with a ``DatabaseAvailability`` of each)."""
    if settings.read_model:
        return CachedAvailability(db, settings.read_model_max_age_ms / 1000)
    return DatabaseAvailability(db, ReadSource.PRIMARY)


def payment_policy(settings: Settings) -> PaymentPolicy:
    return PaymentPolicy(
        checkout_url=settings.psp_url.rstrip("/") + CHECKOUT_PATH,
        recheck_after_s=settings.reconciler_grace_s,
        refund_retry_s=settings.reconciler_interval_s,
        trust_client_amount=settings.has_defect("trust-client-amount"),
        confirm_overwrites=settings.has_defect("confirm-overwrites"),
        webhook_no_dedupe=settings.has_defect("webhook-no-dedupe"),
    )


def payment_deps(
    settings: Settings, db: Database, gateway: PaymentGateway, clock: Clock | None = None
) -> PaymentDeps:
    return PaymentDeps(
        policy=payment_policy(settings),
        uow=units_of_work(db),
        gateway=gateway,
        clock=clock or SystemClock(),
        metrics=METRICS,
    )


def expiry_deps(
    settings: Settings, db: Database, redis: aioredis.Redis, clock: Clock | None = None
) -> ExpiryDeps:
    """The expiry consumer and the sweeper release holds with the strategy's release hook."""
    return ExpiryDeps(
        uow=units_of_work(db),
        claimer=build_claimer(settings.claim_strategy, settings, db, redis),
        clock=clock or SystemClock(),
        metrics=METRICS,
    )


def read_deps(
    settings: Settings,
    db: Database,
    replica: Database | None = None,
    redis: aioredis.Redis | None = None,
    jobs_db: Database | None = None,
    read_model: Availability | None = None,
) -> ReadDeps:
    """Where routed reads go. With the ``primary`` policy both sides are the primary and
    nothing watches a replica; otherwise the replica's lag is stamped on ``jobs_db`` (the
    primary's jobs pool, so requests cannot starve it) and read on ``replica``.
    ``read_model`` (the worker's, when ``TICKETLAB_READ_MODEL`` is on) answers seat maps,
    zones and the concert list instead of either database."""
    primary = ReadStores(
        SqlCatalog(db), units_of_work(db), DatabaseAvailability(db, ReadSource.PRIMARY)
    )
    policy = ReadPolicy(settings.read_policy)
    if policy is ReadPolicy.PRIMARY or replica is None or redis is None:
        return ReadDeps(
            ReadPolicy.PRIMARY,
            0,
            0.0,
            primary,
            primary,
            NoReplica(),
            NoWriteMarks(),
            read_model=read_model,
        )
    return ReadDeps(
        policy=policy,
        max_staleness_ms=settings.max_staleness_ms,
        wait_timeout_s=settings.read_wait_timeout_s,
        primary=primary,
        replica=ReadStores(
            SqlCatalog(replica),
            units_of_work(replica),
            DatabaseAvailability(replica, ReadSource.REPLICA),
        ),
        lag=HeartbeatLag(jobs_db or db, replica),
        writes=RedisWriteMarks(redis, db, settings.key_prefix),
        read_model=read_model,
    )


# -- resources, in the order they open ------------------------------------------------------


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


async def replica_ctx(app: web.Application) -> AsyncIterator[None]:
    """The replica's pool, as large as the primary's request pool: only a read policy
    other than ``primary`` opens it."""
    settings = app[SETTINGS]
    if settings.read_policy == ReadPolicy.PRIMARY:
        yield
        return
    pool = await create_pool(settings.replica, settings)
    app[REPLICA_DB] = Database(pool, settings.db_pool_timeout_s)
    yield
    await app[REPLICA_DB].close()


def redis_client(settings: Settings) -> aioredis.Redis:
    """A blocking pool: past its size, callers wait (bounded) instead of failing at once.

    Every wait is bounded by a setting (a connection, an answer, a pooled connection), so
    a Redis that is paused or unreachable is a quick ``RedisError`` (a 503), never a hang.
    """
    pool = aioredis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_pool_size,
        timeout=settings.db_pool_timeout_s,
        socket_connect_timeout=settings.redis_connect_timeout_s,
        socket_timeout=settings.redis_socket_timeout_s,
        decode_responses=True,
    )
    return aioredis.Redis(connection_pool=pool)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    client = redis_client(app[SETTINGS])
    await client.ping()
    app[REDIS] = client
    yield
    await client.aclose()
    await client.connection_pool.aclose()


async def rate_limiter_ctx(app: web.Application) -> AsyncIterator[None]:
    """The limits live in Redis (shared by every worker); the limiter holds no connection."""
    app[RATE_LIMITER] = RateLimiter(app[REDIS], app[SETTINGS])
    yield


async def amqp_ctx(app: web.Application) -> AsyncIterator[None]:
    connection = await aio_pika.connect_robust(
        app[SETTINGS].amqp_url, timeout=AMQP_CONNECT_TIMEOUT_S
    )
    app[AMQP] = connection
    yield
    await connection.close()


async def psp_ctx(app: web.Application) -> AsyncIterator[None]:
    """The payment provider's client, with its pooled session."""
    client = PspClient(app[SETTINGS])
    await client.start()
    app[PSP_CLIENT] = client
    try:
        yield
    finally:
        await client.close()


def oidc_ctx(timeout: aiohttp.ClientTimeout = DEFAULT_TIMEOUT) -> CleanupContext:
    """The identity provider's client, with its pooled session and ``timeout`` per call."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        session = aiohttp.ClientSession(
            timeout=timeout, connector=aiohttp.TCPConnector(limit=OIDC_POOL_LIMIT)
        )
        app[OIDC_CLIENT] = OidcClient(app[SETTINGS], session)
        try:
            yield
        finally:
            await session.close()

    return context


async def dependencies_ctx(app: web.Application) -> AsyncIterator[None]:
    """The use cases' dependencies; the expiry scheduler's channel is theirs to close."""
    settings, clock = app[SETTINGS], SystemClock()
    scheduler = RabbitExpiryScheduler(settings, app[AMQP])
    await scheduler.start()
    deferred = DeferredExpiryScheduler(scheduler)  # off the request's path: see there
    app[DEPS] = Dependencies(
        settings=settings,
        clock=clock,
        catalog=SqlCatalog(app[DB]),
        booking=booking_deps(settings, app[DB], app[REDIS], deferred, clock),
        payments=payment_deps(settings, app[DB], app[PSP_CLIENT], clock),
        expiry=expiry_deps(settings, app[JOBS_DB], app[REDIS], clock),
        reads=read_deps(
            settings,
            app[DB],
            app.get(REPLICA_DB),
            app[REDIS],
            app[JOBS_DB],
            read_model=availability(settings, app[DB]) if settings.read_model else None,
        ),
    )
    yield
    await deferred.close()
    await scheduler.close()


def background_jobs(app: web.Application) -> list[BackgroundJob]:
    """Every worker runs every job: rows are claimed with SKIP LOCKED, deliveries dedupe.

    The expiry consumer always runs; the others follow their ``*_ENABLED`` settings.
    """
    settings, deps = app[SETTINGS], app[DEPS]
    jobs: list[BackgroundJob] = [
        ExpiryConsumer(settings, app[AMQP], deps.expiry),
        Sweeper(settings, deps.expiry),
        Reconciler(settings, deps.payments),
        OutboxRelay(settings, app[AMQP], app[JOBS_DB]),
    ]
    if settings.event_consumer_enabled:
        jobs.append(EventConsumer(settings, app[AMQP], app[JOBS_DB]))
    if isinstance(deps.reads.lag, HeartbeatLag):
        jobs.append(deps.reads.lag)
    return jobs


async def jobs_ctx(app: web.Application) -> AsyncIterator[None]:
    jobs = app[JOBS] = background_jobs(app)
    for job in jobs:
        await job.start()
    yield
    await asyncio.gather(*(job.close() for job in jobs))


async def sampler_ctx(app: web.Application) -> AsyncIterator[None]:
    sampler = Sampler(app[DB])
    await sampler.start()
    yield
    await sampler.close()


RESOURCES: tuple[CleanupContext, ...] = (
    database_ctx,
    replica_ctx,
    redis_ctx,
    rate_limiter_ctx,
    amqp_ctx,
    psp_ctx,
    oidc_ctx(),
    dependencies_ctx,
    jobs_ctx,
    sampler_ctx,
)


def install(app: web.Application, settings: Settings) -> None:
    """Give ``app`` its settings and every resource, in order."""
    app[SETTINGS] = settings
    app.cleanup_ctx.extend(RESOURCES)

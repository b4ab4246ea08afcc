"""Typed application keys: what the app factory opens, and views and modules read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aio_pika.abc import AbstractRobustConnection
from aiohttp import web

from service.adapters.db import Database
from service.config import Settings

if TYPE_CHECKING:
    from service.usecases.holds import BookingDeps
    from service.usecases.payments import PaymentDeps

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
JOBS_DB = web.AppKey("jobs_db", Database)
REDIS = web.AppKey("redis", aioredis.Redis)
AMQP = web.AppKey("amqp", AbstractRobustConnection)
BOOKING: web.AppKey[BookingDeps] = web.AppKey("booking")
PAYMENTS: web.AppKey[PaymentDeps] = web.AppKey("payments")

"""Typed application keys: what the app factory opens, and views and modules read."""

from __future__ import annotations

import redis.asyncio as aioredis
from aiohttp import web

from service.adapters.db import Database
from service.config import Settings

SETTINGS = web.AppKey("settings", Settings)
DB = web.AppKey("db", Database)
REDIS = web.AppKey("redis", aioredis.Redis)

"""``redis-lock``: a Redis lock per seat (SET NX PX, random token) around the DB write.

All locks or none: a seat whose lock someone else holds makes the claim give up at once
with Contention("seat-lock-busy") (503, retryable), releasing the locks it did get. We
don't turn that into SeatsTaken because the holder may yet fail and free the seat. The DB
write is the guarded UPDATE of ``conditional``: the lock keeps losers away from MariaDB's
row locks, and the guard still protects a lock that outlived its TTL. Release checks the
token in Lua, so a lock that expired and was taken by someone else is left alone.
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.adapters.claims.base import BaseClaimer, redis_contention
from service.adapters.db import Database
from service.config import Settings
from service.domain.errors import Contention
from service.domain.holds import Hold
from service.ports import ClaimRequest

RELEASE_IF_OWNED = """
local released = 0
for _, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[1] then
    released = released + redis.call('DEL', key)
  end
end
return released
"""


class RedisLockClaimer(BaseClaimer):
    name = "redis-lock"

    def __init__(self, settings: Settings, db: Database, redis: aioredis.Redis) -> None:
        super().__init__(settings, db)
        self.redis = redis
        self.release_script = redis.register_script(RELEASE_IF_OWNED)

    async def claim(self, request: ClaimRequest) -> Hold:
        async with self._locked(request.seat_ids), self.db.transaction() as cur:
            return await self.claim_guarded(cur, request)

    @asynccontextmanager
    async def _locked(self, seat_ids: tuple[int, ...]) -> AsyncIterator[None]:
        token = secrets.token_hex(16)
        acquired: list[str] = []
        try:
            for seat_id in seat_ids:
                key = self.settings.key("seat-lock", seat_id)
                if not await self.redis.set(
                    key, token, nx=True, px=self.settings.redis_lock_ttl_ms
                ):
                    self.count_wait("lock-busy")
                    raise Contention("seat-lock-busy")
                acquired.append(key)
            yield
        except RedisError as exc:
            raise redis_contention(exc) from exc
        finally:
            if acquired:
                await self._release(acquired, token)

    async def _release(self, keys: list[str], token: str) -> None:
        """Best effort: the locks expire by their TTL, and the claim's outcome is decided."""
        with contextlib.suppress(RedisError):
            await self.release_script(keys=keys, args=[token])

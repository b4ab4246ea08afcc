"""``redis-gate``: one Lua script claims every requested seat in Redis, or none of them.

Losers are turned away with SeatsTaken before they touch MariaDB, so the database only
sees the winners; the winner then writes the hold (the guarded UPDATE of ``conditional``,
since the gate is a cache of the truth, not the truth). A gate key lives as long as the
hold would, and must be cleared when the hold is released early (``clear_gate``), or the
seat would look taken until the TTL ran out: ``released``, the strategy's release hook,
does that after every committed release. If the DB write fails, the claim opens its own
gate keys again (token-checked, so it never opens someone else's).
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Iterable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.adapters.claims.base import BaseClaimer, redis_contention
from service.adapters.claims.redis_lock import RELEASE_IF_OWNED
from service.adapters.db import Database
from service.config import Settings
from service.domain.errors import SeatsTaken
from service.domain.holds import FreedSeats, Hold
from service.ports import ClaimRequest

CLAIM_ALL_OR_NONE = """
local taken = {}
for i, key in ipairs(KEYS) do
  if redis.call('EXISTS', key) == 1 then
    taken[#taken + 1] = i
  end
end
if #taken == 0 then
  for _, key in ipairs(KEYS) do
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
  end
end
return taken
"""


def gate_key(settings: Settings, concert_id: int, seat_id: int) -> str:
    return settings.key("seat-gate", concert_id, seat_id)


async def clear_gate(
    redis: aioredis.Redis, settings: Settings, concert_id: int, seat_ids: Iterable[int]
) -> None:
    """Opens the gate for seats whose hold was released; call it after the release commits.

    Harmless under the other strategies (no such keys). If it fails the keys still expire
    with the hold's TTL, and meanwhile buyers are refused seats that are free: a lost sale,
    never a double booking, so errors are swallowed rather than failing the release.
    """
    keys = [gate_key(settings, concert_id, seat_id) for seat_id in seat_ids]
    if not keys:
        return
    with contextlib.suppress(RedisError):
        await redis.delete(*keys)


class RedisGateClaimer(BaseClaimer):
    name = "redis-gate"

    def __init__(self, settings: Settings, db: Database, redis: aioredis.Redis) -> None:
        super().__init__(settings, db)
        self.redis = redis
        self.claim_script = redis.register_script(CLAIM_ALL_OR_NONE)
        self.release_script = redis.register_script(RELEASE_IF_OWNED)

    async def claim(self, request: ClaimRequest) -> Hold:
        keys = [gate_key(self.settings, request.concert_id, s) for s in request.seat_ids]
        token = secrets.token_hex(16)
        ttl_ms = max(1, math.ceil((request.expires_at - request.now).total_seconds() * 1000))
        try:
            taken = await self.claim_script(keys=keys, args=[token, ttl_ms])
        except RedisError as exc:
            raise redis_contention(exc) from exc
        if taken:
            self.count_wait("gate-closed")
            raise SeatsTaken(request.seat_ids[int(i) - 1] for i in taken)
        try:
            async with self.db.transaction() as cur:
                return await self.claim_guarded(cur, request)
        except BaseException:
            with contextlib.suppress(RedisError):
                await self.release_script(keys=keys, args=[token])
            raise

    async def released(self, freed: FreedSeats) -> None:
        await clear_gate(self.redis, self.settings, freed.concert_id, freed.seat_ids)

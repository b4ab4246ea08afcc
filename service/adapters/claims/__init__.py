"""The six claim strategies behind the SeatClaimer port; ``build_claimer`` picks one by name."""

from __future__ import annotations

import redis.asyncio as aioredis

from service.adapters.claims.base import BaseClaimer
from service.adapters.claims.conditional import ConditionalClaimer
from service.adapters.claims.naive import NaiveClaimer
from service.adapters.claims.optimistic import OptimisticClaimer
from service.adapters.claims.pessimistic import PessimisticClaimer
from service.adapters.claims.redis_gate import RedisGateClaimer
from service.adapters.claims.redis_lock import RedisLockClaimer
from service.adapters.db import Database
from service.config import CLAIM_STRATEGIES, ConfigError, Settings
from service.ports import SeatClaimer

_DB_ONLY: dict[str, type[BaseClaimer]] = {
    cls.name: cls
    for cls in (NaiveClaimer, PessimisticClaimer, OptimisticClaimer, ConditionalClaimer)
}
_WITH_REDIS: dict[str, type[RedisLockClaimer] | type[RedisGateClaimer]] = {
    cls.name: cls for cls in (RedisLockClaimer, RedisGateClaimer)
}


def build_claimer(
    name: str, settings: Settings, db: Database, redis: aioredis.Redis
) -> SeatClaimer:
    if name in _DB_ONLY:
        return _DB_ONLY[name](settings, db)
    if name in _WITH_REDIS:
        return _WITH_REDIS[name](settings, db, redis)
    raise ConfigError(f"unknown claim strategy {name!r}; known: {', '.join(CLAIM_STRATEGIES)}")


__all__ = ["build_claimer"]

"""Rate limits in Redis: one token bucket per rule and subject (a client address, a member).

GCRA (the generic cell rate algorithm), the token bucket kept as one number: the time at
which the bucket will be full again. ``limit`` requests per ``window_s`` are allowed, all at
once if they come together, then one every ``window_s / limit``. One key per bucket, expiring
when the bucket is full again, so idle clients cost nothing. The script reads Redis's own
clock, so every worker process shares one time and one count.

Redis being unreachable must not turn into an outage of the routes it guards, so a check
that cannot reach Redis allows the request (and says so in the log and the metrics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service import metrics
from service.config import Settings

log = logging.getLogger(__name__)

# KEYS: the buckets a request counts against. ARGV[2i-1], ARGV[2i]: bucket i's ms between
# requests at the sustained rate and its window in ms (the burst: limit x interval).
# Returns {0, 0} when every bucket had room (and takes one from each), else {i, ms to wait}
# for the first bucket without room, taking from none: a refused request costs nothing.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local full = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 * i - 1])
  local window = tonumber(ARGV[2 * i])
  local full_at = tonumber(redis.call('GET', key) or now)
  if full_at < now then full_at = now end
  full[i] = full_at + interval
  local allowed_at = full[i] - window
  if allowed_at > now then return {i, allowed_at - now} end
end
for i, key in ipairs(KEYS) do
  redis.call('SET', key, full[i], 'PX', full[i] - now)
end
return {0, 0}
"""


@dataclass(frozen=True)
class Limit:
    """``limit`` requests per ``window_s`` under ``rule`` for one kind of subject."""

    rule: str
    subject: str  # "client" or "member"
    limit: int
    window_s: float

    @property
    def name(self) -> str:
        return f"{self.rule}-per-{self.subject}"


@dataclass(frozen=True)
class Refusal:
    limit: Limit
    retry_after_s: int


class RateLimiter:
    def __init__(self, redis: aioredis.Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings
        self._script = redis.register_script(GCRA)

    async def check(self, limit: Limit, subject: str) -> Refusal | None:
        """Take one request from ``subject``'s bucket; a Refusal if it is empty."""
        return await self.check_all([(limit, subject)])

    async def check_all(self, buckets: Sequence[tuple[Limit, str]]) -> Refusal | None:
        """Take one request from each (limit, subject) bucket, all or none, in one round
        trip to Redis; a Refusal naming the first bucket that is empty."""
        live = [(limit, subject) for limit, subject in buckets if limit.limit > 0]
        if not live:
            return None
        keys: list[str] = []
        args: list[int] = []
        for limit, subject in live:
            window_ms = max(1, round(limit.window_s * 1000))
            interval_ms = max(1, math.ceil(window_ms / limit.limit))
            keys.append(self.settings.key("ratelimit", limit.rule, limit.subject, subject))
            args += [interval_ms, interval_ms * limit.limit]
        try:
            index, wait_ms = (int(v) for v in await self._script(keys=keys, args=args))
        except RedisError as exc:
            names = ", ".join(limit.name for limit, _ in live)
            log.warning("rate limit %s not checked: %s", names, type(exc).__name__)
            for limit, _ in live:
                metrics.rate_limit_checks.labels(limit.name, "unchecked").inc()
            return None
        if index == 0:
            return None
        limit = live[index - 1][0]
        metrics.rate_limit_checks.labels(limit.name, "refused").inc()
        return Refusal(limit, retry_after_s=max(1, math.ceil(wait_ms / 1000)))

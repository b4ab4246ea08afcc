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
from dataclasses import dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service import metrics
from service.config import Settings

log = logging.getLogger(__name__)

# KEYS[1]: the bucket. ARGV[1]: ms between requests at the sustained rate; ARGV[2]: the
# window in ms (the burst: limit x interval). Returns 0 (allowed) or the ms to wait.
GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local full_at = tonumber(redis.call('GET', KEYS[1]) or now)
if full_at < now then full_at = now end
local next_full_at = full_at + interval
local allowed_at = next_full_at - window
if allowed_at > now then return allowed_at - now end
redis.call('SET', KEYS[1], next_full_at, 'PX', next_full_at - now)
return 0
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
        if limit.limit <= 0:
            return None
        window_ms = max(1, round(limit.window_s * 1000))
        interval_ms = max(1, math.ceil(window_ms / limit.limit))
        key = self.settings.key("ratelimit", limit.rule, limit.subject, subject)
        try:
            wait_ms = int(
                await self._script(keys=[key], args=[interval_ms, interval_ms * limit.limit])
            )
        except RedisError as exc:
            log.warning("rate limit %s not checked: %s", limit.name, type(exc).__name__)
            metrics.rate_limit_checks.labels(limit.name, "unchecked").inc()
            return None
        if wait_ms <= 0:
            return None
        metrics.rate_limit_checks.labels(limit.name, "refused").inc()
        return Refusal(limit, retry_after_s=max(1, math.ceil(wait_ms / 1000)))

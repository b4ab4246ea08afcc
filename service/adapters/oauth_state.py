"""Pending sign-ins, kept in Redis between ``/auth/login`` and ``/auth/callback``.

The browser may come back to any worker process, so what the callback needs (the PKCE
verifier, the nonce, the redirect URI) cannot live in the process that started the flow.
Each entry expires on its own and is deleted when taken, so a state works exactly once.
Redis being down is ``Contention`` (a retryable 503), like any other overload.

Pending sign-ins are bounded: each lives ``TICKETLAB_SIGNIN_TTL_S``, and at most
``TICKETLAB_SIGNIN_PENDING_MAX`` exist at once (an index of their expiry times counts
them), so a flood of anonymous logins costs bounded memory and then gets a 503, while
per-client rate limits (``service/http/rate_limits.py``) stop one client well before that.

A state alone does not finish a sign-in: each entry keeps the hash of a secret the browser
that started it holds in a cookie (its *binding*). Whoever else presents the callback URL
— leaked through a log, a referrer, a shared link, or planted by a login-CSRF page — has the
state and the code but not the secret, and is refused without using the state up, so the
browser that started the sign-in still finishes it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.config import Settings
from service.domain.errors import Contention, NotThisBrowser

STATE_FORMAT = re.compile(r"^[A-Za-z0-9_-]{32,128}$")
BINDING_FORMAT = re.compile(r"^[A-Za-z0-9_-]{43}$")


@dataclass(frozen=True)
class PendingLogin:
    code_verifier: str
    nonce: str
    redirect_uri: str
    binding_hash: str = ""

    @classmethod
    def new(cls, redirect_uri: str, binding: str = "") -> PendingLogin:
        return cls(
            code_verifier=secrets.token_urlsafe(48),
            nonce=secrets.token_urlsafe(24),
            redirect_uri=redirect_uri,
            binding_hash=hash_binding(binding) if binding else "",
        )

    def bound_to(self, binding: str) -> bool:
        return bool(self.binding_hash) and hmac.compare_digest(
            self.binding_hash, hash_binding(binding)
        )


# KEYS[1]: the state, KEYS[2]: the index of pending states (member: key, score: expiry ms).
# ARGV: the entry, its TTL in ms, the cap. Returns 1 stored, 0 full, -1 the state exists.
PUT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then return 0 end
if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl, 'NX') then return -1 end
redis.call('ZADD', KEYS[2], now + ttl, KEYS[1])
redis.call('PEXPIRE', KEYS[2], ttl)
return 1
"""


def new_state() -> str:
    return secrets.token_urlsafe(32)


def new_binding() -> str:
    """The browser's secret: 256 random bits, kept in an HttpOnly cookie."""
    return secrets.token_urlsafe(32)


def valid_binding(value: str | None) -> str | None:
    return value if value is not None and BINDING_FORMAT.match(value) else None


def hash_binding(binding: str) -> str:
    """Only the hash is stored, so reading Redis is not enough to finish someone's sign-in."""
    return hashlib.sha256(binding.encode()).hexdigest()


class OAuthStateStore:
    def __init__(self, redis: aioredis.Redis, settings: Settings, ttl_s: int | None = None):
        self.redis = redis
        self.settings = settings
        self.ttl_s = ttl_s or settings.signin_ttl_s
        self.index = settings.key("oauth-pending")
        self._put = redis.register_script(PUT)

    def _key(self, state: str) -> str:
        return self.settings.key("oauth", state)

    async def put(self, state: str, pending: PendingLogin) -> None:
        """Store a pending sign-in; ``Contention`` (503) while the cap is reached."""
        entry = json.dumps(asdict(pending))
        cap = self.settings.signin_pending_max
        try:
            stored = await self._put(
                keys=[self._key(state), self.index], args=[entry, self.ttl_s * 1000, cap]
            )
        except RedisError as exc:
            raise Contention(f"redis-unavailable: {type(exc).__name__}") from exc
        if stored == 0:
            raise Contention("sign-ins-pending-full")
        if stored < 0:  # 256 random bits colliding means something is badly wrong
            raise RuntimeError("OAuth state collision")

    async def take(self, state: str, binding: str | None) -> PendingLogin | None:
        """The pending sign-in for ``state`` started by the browser holding ``binding``, removed.

        None if the state is unknown, expired or used. ``NotThisBrowser`` if the browser
        holds no binding or another one; the entry then stays for its own browser.
        """
        if not STATE_FORMAT.match(state):
            return None
        if binding is None:
            raise NotThisBrowser()
        key = self._key(state)
        try:
            raw = await self.redis.get(key)
            if raw is None:
                return None
            pending = PendingLogin(**json.loads(raw))
            if not pending.bound_to(binding):
                raise NotThisBrowser()
            taken = await self.redis.delete(key)
            await self.redis.zrem(self.index, key)
        except RedisError as exc:
            raise Contention(f"redis-unavailable: {type(exc).__name__}") from exc
        return pending if taken else None  # a concurrent callback of the same browser won

"""Pending sign-ins, kept in Redis between ``/auth/login`` and ``/auth/callback``.

The browser may come back to any worker process, so what the callback needs (the PKCE
verifier, the nonce, the redirect URI) cannot live in the process that started the flow.
Each entry expires on its own and is taken with GETDEL, so a state works exactly once.
Redis being down is ``Contention`` (a retryable 503), like any other overload.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from service.config import Settings
from service.domain.errors import Contention

DEFAULT_TTL_S = 600
STATE_FORMAT = re.compile(r"^[A-Za-z0-9_-]{32,128}$")


@dataclass(frozen=True)
class PendingLogin:
    code_verifier: str
    nonce: str
    redirect_uri: str

    @classmethod
    def new(cls, redirect_uri: str) -> PendingLogin:
        return cls(
            code_verifier=secrets.token_urlsafe(48),
            nonce=secrets.token_urlsafe(24),
            redirect_uri=redirect_uri,
        )


def new_state() -> str:
    return secrets.token_urlsafe(32)


class OAuthStateStore:
    def __init__(self, redis: aioredis.Redis, settings: Settings, ttl_s: int = DEFAULT_TTL_S):
        self.redis = redis
        self.settings = settings
        self.ttl_s = ttl_s

    def _key(self, state: str) -> str:
        return self.settings.key("oauth", state)

    async def put(self, state: str, pending: PendingLogin) -> None:
        try:
            stored = await self.redis.set(
                self._key(state), json.dumps(asdict(pending)), ex=self.ttl_s, nx=True
            )
        except RedisError as exc:
            raise Contention(f"redis-unavailable: {type(exc).__name__}") from exc
        if not stored:  # 256 random bits colliding means something is badly wrong
            raise RuntimeError("OAuth state collision")

    async def take(self, state: str) -> PendingLogin | None:
        """The pending sign-in for ``state``, removed; None if unknown, expired or used."""
        if not STATE_FORMAT.match(state):
            return None
        try:
            raw = await self.redis.getdel(self._key(state))
        except RedisError as exc:
            raise Contention(f"redis-unavailable: {type(exc).__name__}") from exc
        if raw is None:
            return None
        data = json.loads(raw)
        return PendingLogin(
            code_verifier=data["code_verifier"],
            nonce=data["nonce"],
            redirect_uri=data["redirect_uri"],
        )

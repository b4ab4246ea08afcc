"""Access JWTs (pure) and rotating refresh tokens (on the module's real database)."""

from __future__ import annotations

import base64
import dataclasses
import json
import time
from typing import Any

import jwt
import pytest

from service.adapters.db import Database
from service.adapters.tokens import AccessTokens, TokenService, hash_refresh_token
from service.config import Settings
from service.domain.errors import Unauthorized

OTHER_SECRET = "another-secret-another-secret-another-secret"


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "42",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        **overrides,
    }
    return {k: v for k, v in values.items() if v is not None}


def test_an_issued_token_verifies_to_its_member() -> None:
    tokens = AccessTokens(Settings())
    token = tokens.issue(42)
    assert tokens.verify(token) == 42
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert set(jwt.decode(token, options={"verify_signature": False})) == {
        "iss",
        "aud",
        "sub",
        "iat",
        "exp",
        "jti",
    }


def _forged(settings: Settings, case: str) -> str:
    secret = settings.jwt_secret
    if case == "expired":
        return AccessTokens(settings).issue(42, now=time.time() - settings.access_token_ttl_s - 60)
    if case == "wrong signature":
        return jwt.encode(claims(settings), OTHER_SECRET, algorithm="HS256")
    if case == "alg none":
        return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(settings))}."
    if case == "alg HS512":
        return jwt.encode(claims(settings), secret * 2, algorithm="HS512")
    if case == "wrong audience":
        return jwt.encode(claims(settings, aud="someone-else"), secret, algorithm="HS256")
    if case == "wrong issuer":
        return jwt.encode(claims(settings, iss="someone-else"), secret, algorithm="HS256")
    if case == "no exp":
        return jwt.encode(claims(settings, exp=None), secret, algorithm="HS256")
    if case == "no sub":
        return jwt.encode(claims(settings, sub=None), secret, algorithm="HS256")
    if case == "sub not a member id":
        return jwt.encode(claims(settings, sub="alice"), secret, algorithm="HS256")
    if case == "sub not a string":
        return jwt.encode(claims(settings, sub=42), secret, algorithm="HS256")
    if case == "garbage":
        return "not.a.jwt"
    raise AssertionError(case)


FORGERIES = [
    ("expired", "expired"),
    ("wrong signature", "signature"),
    ("alg none", "algorithm"),
    ("alg HS512", "algorithm"),
    ("wrong audience", "audience"),
    ("wrong issuer", "issuer"),
    ("no exp", "'exp'"),
    ("no sub", "'sub'"),
    ("sub not a member id", "member id"),
    ("sub not a string", "subject"),
    ("garbage", "malformed"),
]


@pytest.mark.parametrize(("case", "reason"), FORGERIES)
def test_forged_or_stale_tokens_are_refused_with_a_reason(case: str, reason: str) -> None:
    settings = Settings()
    with pytest.raises(Unauthorized, match=reason):
        AccessTokens(settings).verify(_forged(settings, case))


async def test_refresh_rotates_and_the_old_token_is_spent(settings: Settings, db: Database) -> None:
    service = TokenService(settings, db)
    first = await service.issue(7)
    second = await service.refresh(first.refresh_token)
    assert second.member_id == 7
    assert second.refresh_token != first.refresh_token
    assert AccessTokens(settings).verify(second.access_token) == 7
    third = await service.refresh(second.refresh_token)
    assert third.member_id == 7
    row = await db.fetch_one(
        "SELECT token_hash FROM refresh_tokens WHERE token_hash = %s",
        (hash_refresh_token(third.refresh_token),),
    )
    assert row is not None  # stored hashed, never in clear
    clear = await db.fetch_one(
        "SELECT COUNT(*) AS n FROM refresh_tokens WHERE token_hash = %s", (third.refresh_token,)
    )
    assert clear is not None and clear["n"] == 0


async def test_reusing_a_spent_token_revokes_its_family(settings: Settings, db: Database) -> None:
    service = TokenService(settings, db)
    first = await service.issue(8)
    unrelated = await service.issue(8)
    second = await service.refresh(first.refresh_token)
    with pytest.raises(Unauthorized, match="already used"):
        await service.refresh(first.refresh_token)
    with pytest.raises(Unauthorized, match="revoked"):
        await service.refresh(second.refresh_token)
    # another sign-in of the same member is another family, untouched
    assert (await service.refresh(unrelated.refresh_token)).member_id == 8


async def test_logout_revokes_the_family_and_is_idempotent(
    settings: Settings, db: Database
) -> None:
    service = TokenService(settings, db)
    first = await service.issue(9)
    second = await service.refresh(first.refresh_token)
    await service.logout(first.refresh_token)
    with pytest.raises(Unauthorized, match="revoked"):
        await service.refresh(second.refresh_token)
    await service.logout(second.refresh_token)
    await service.logout("never-issued")


async def test_unknown_and_expired_refresh_tokens_are_refused(
    settings: Settings, db: Database
) -> None:
    with pytest.raises(Unauthorized, match="not known"):
        await TokenService(settings, db).refresh("never-issued")
    with pytest.raises(Unauthorized, match="not known"):
        await TokenService(settings, db).refresh("x" * 1000)
    short = TokenService(dataclasses.replace(settings, refresh_token_ttl_s=0), db)
    pair = await short.issue(10)
    with pytest.raises(Unauthorized, match="expired"):
        await short.refresh(pair.refresh_token)

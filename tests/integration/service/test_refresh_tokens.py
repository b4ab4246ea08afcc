"""Rotating refresh tokens, on the module's real database."""

from __future__ import annotations

import dataclasses

import pytest

from service.adapters.db import Database
from service.adapters.tokens import AccessTokens, TokenService, hash_refresh_token
from service.config import Settings
from service.domain.errors import Unauthorized


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

"""Every claim strategy the settings accept builds the claimer of that name."""

from __future__ import annotations

import pytest
import redis.asyncio as aioredis

from service.adapters.claims import build_claimer
from service.adapters.db import Database
from service.config import CLAIM_STRATEGIES, ConfigError, Settings


@pytest.mark.parametrize("name", CLAIM_STRATEGIES)
async def test_each_strategy_setting_builds_the_claimer_of_that_name(name: str) -> None:
    client = aioredis.Redis()  # never connected: building a claimer talks to nothing
    try:
        claimer = build_claimer(
            name, Settings(claim_strategy=name), Database.__new__(Database), client
        )
    finally:
        await client.aclose()
    assert claimer.name == name


async def test_an_unknown_strategy_is_refused_by_name() -> None:
    with pytest.raises(ConfigError, match="'first-come'"):
        build_claimer("first-come", Settings(), Database.__new__(Database), aioredis.Redis())

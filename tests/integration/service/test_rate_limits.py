"""Rate limits on the real Redis: the bucket itself, then the 429s a real server answers,
and the bound on pending sign-ins."""

from __future__ import annotations

import asyncio
import dataclasses
import secrets
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis

from service.adapters.db import Database
from service.adapters.rate_limiter import Limit, RateLimiter
from service.config import Settings
from service.http.problems import PROBLEM_JSON
from tests.support.http import Reply, call
from tests.support.payments import new_member
from tests.support.processes import free_port
from tests.support.servers import Service, service_settings, serving
from tests.support.signin import authorize, browser, finish_sign_in, start_sign_in
from tests.support.waiting import wait_until

UNKNOWN_SEATS = {"seat_ids": [987654321]}


@pytest.fixture(autouse=True)
async def fresh_buckets(settings: Settings, redis_client: aioredis.Redis) -> AsyncIterator[None]:
    """Every test starts with full buckets and no pending sign-ins (all share 127.0.0.1)."""

    async def forget() -> None:
        for pattern in ("ratelimit:*", "oauth*"):
            keys = [k async for k in redis_client.scan_iter(settings.key(pattern))]
            if keys:
                await redis_client.delete(*keys)

    await forget()
    yield
    await forget()


@pytest.fixture(scope="module")
def limiter(settings: Settings, redis_client: aioredis.Redis) -> RateLimiter:
    return RateLimiter(redis_client, settings)


async def test_a_bucket_allows_its_limit_at_once_then_refuses_naming_the_wait(
    limiter: RateLimiter,
) -> None:
    limit = Limit("t", "client", limit=3, window_s=60)
    assert [await limiter.check(limit, "10.0.0.1") for _ in range(3)] == [None] * 3
    refusal = await limiter.check(limit, "10.0.0.1")
    assert refusal is not None and refusal.limit == limit
    assert 1 <= refusal.retry_after_s <= 20  # one request every 60 s / 3


async def test_buckets_of_different_subjects_are_independent(limiter: RateLimiter) -> None:
    limit = Limit("t", "member", limit=1, window_s=60)
    assert await limiter.check(limit, "1") is None
    assert await limiter.check(limit, "1") is not None
    assert await limiter.check(limit, "2") is None


async def test_a_bucket_refills_at_its_rate(limiter: RateLimiter) -> None:
    limit = Limit("t", "client", limit=2, window_s=0.4)
    while await limiter.check(limit, "10.0.0.2") is None:
        pass

    async def allowed_again() -> bool:
        return await limiter.check(limit, "10.0.0.2") is None

    await wait_until(allowed_again, within=5, what="a token after 0.2 s")


async def test_a_bucket_key_lives_only_until_the_bucket_is_full_again(
    limiter: RateLimiter, settings: Settings, redis_client: aioredis.Redis
) -> None:
    await limiter.check(Limit("t", "client", limit=10, window_s=30), "10.0.0.3")
    ttl_ms = await redis_client.pttl(settings.key("ratelimit", "t", "client", "10.0.0.3"))
    assert 0 < ttl_ms <= 3000  # one request of ten: full again after a tenth of 30 s


async def test_two_buckets_are_taken_together_or_not_at_all(
    limiter: RateLimiter, settings: Settings, redis_client: aioredis.Redis
) -> None:
    roomy = Limit("t", "client", limit=5, window_s=60)
    full = Limit("t", "member", limit=1, window_s=60)
    assert await limiter.check(full, "7") is None  # the member's only token
    refusal = await limiter.check_all([(roomy, "10.0.0.6"), (full, "7")])
    assert refusal is not None and refusal.limit == full
    assert await redis_client.exists(settings.key("ratelimit", "t", "client", "10.0.0.6")) == 0


async def test_two_buckets_with_room_both_give_a_token(
    limiter: RateLimiter, settings: Settings, redis_client: aioredis.Redis
) -> None:
    client, member = Limit("t", "client", limit=5, window_s=60), Limit("t", "member", 2, 60)
    assert await limiter.check_all([(client, "10.0.0.7"), (member, "8")]) is None
    assert await limiter.check_all([(client, "10.0.0.7"), (member, "8")]) is None
    refusal = await limiter.check_all([(client, "10.0.0.7"), (member, "8")])
    assert refusal is not None and refusal.limit == member  # its 2 taken; the other has 3 left
    keys = [settings.key("ratelimit", "t", *k) for k in (("client", "10.0.0.7"), ("member", "8"))]
    assert [await redis_client.pttl(k) > 0 for k in keys] == [True, True]


async def test_a_limit_of_zero_is_off(limiter: RateLimiter) -> None:
    limit = Limit("t", "client", limit=0, window_s=60)
    assert [await limiter.check(limit, "10.0.0.4") for _ in range(50)] == [None] * 50


async def test_redis_away_lets_requests_through(settings: Settings) -> None:
    client = aioredis.Redis(port=free_port(), socket_connect_timeout=1)
    try:
        limit = Limit("t", "client", limit=1, window_s=60)
        away = RateLimiter(client, settings)
        assert [await away.check(limit, "10.0.0.5") for _ in range(3)] == [None] * 3
    finally:
        await client.aclose()


# -- through a real server -------------------------------------------------------------


@pytest.fixture
def limited(settings: Settings, idp_url: str, concert_id: int) -> Any:
    """A real service with the given settings, on a port of its own."""

    def build(**overrides: Any) -> Any:
        port = free_port()
        return serving(service_settings(settings, idp_url, port, **overrides), port)

    return build


def assert_rate_limited(reply: Reply, limit: str) -> None:
    assert reply.status == 429, reply.body
    assert reply.response.content_type == PROBLEM_JSON
    assert reply.body["type"].endswith("/rate-limited") and reply.body["limit"] == limit
    assert int(reply.response.headers["Retry-After"]) >= 1


async def test_a_flood_of_logins_past_the_client_limit_gets_429s_and_stores_nothing(
    limited: Any, settings: Settings, redis_client: aioredis.Redis
) -> None:
    async with limited(rate_limit_signin_per_client=5) as service, browser() as http:
        replies = await asyncio.gather(
            *(call(http, "GET", f"{service.url}/auth/login") for _ in range(100))
        )
    assert sorted(r.status for r in replies) == [302] * 5 + [429] * 95
    assert_rate_limited(next(r for r in replies if r.status == 429), "signin-per-client")
    pending = [k async for k in redis_client.scan_iter(settings.key("oauth", "*"))]
    assert len(pending) == 5


async def test_refreshes_past_the_client_limit_get_a_429(limited: Any) -> None:
    async with limited(rate_limit_refresh_per_client=2) as service, browser() as http:
        body = {"refresh_token": secrets.token_urlsafe(32)}
        url = f"{service.url}/auth/refresh"
        first = [await call(http, "POST", url, json=body) for _ in range(2)]
        assert [r.status for r in first] == [401, 401]
        assert_rate_limited(await call(http, "POST", url, json=body), "refresh-per-client")


async def hold(
    http: aiohttp.ClientSession, service: Service, concert_id: int, member: Any
) -> Reply:
    url = f"{service.url}/api/v1/concerts/{concert_id}/holds"
    return await call(http, "POST", url, json=UNKNOWN_SEATS, headers=member.headers)


async def test_holds_past_a_members_limit_get_a_429_while_other_members_hold(
    limited: Any, db: Database, settings: Settings, concert_id: int
) -> None:
    alice, bob = await new_member(db, settings), await new_member(db, settings)
    async with limited(rate_limit_holds_per_member=2) as service, browser() as http:
        assert [(await hold(http, service, concert_id, alice)).status for _ in range(2)] == [
            404,
            404,
        ]
        assert_rate_limited(await hold(http, service, concert_id, alice), "holds-per-member")
        assert (await hold(http, service, concert_id, bob)).status == 404


async def test_holds_past_the_client_limit_get_a_429_whichever_member_asks(
    limited: Any, db: Database, settings: Settings, concert_id: int
) -> None:
    members = [await new_member(db, settings) for _ in range(3)]
    async with limited(rate_limit_holds_per_client=2) as service, browser() as http:
        assert (await hold(http, service, concert_id, members[0])).status == 404
        assert (await hold(http, service, concert_id, members[1])).status == 404
        assert_rate_limited(await hold(http, service, concert_id, members[2]), "holds-per-client")


async def test_confirms_past_a_members_limit_get_a_429(
    limited: Any, db: Database, settings: Settings
) -> None:
    member = await new_member(db, settings)
    body = {"paymentKey": "tlpk_x", "orderId": "ord_unknown", "amount": 1000}
    async with limited(rate_limit_confirm_per_member=1) as service, browser() as http:
        url = f"{service.url}/api/v1/payments/confirm"
        assert (await call(http, "POST", url, json=body, headers=member.headers)).status == 404
        refused = await call(http, "POST", url, json=body, headers=member.headers)
        assert_rate_limited(refused, "confirm-per-member")


async def test_pending_sign_ins_are_capped_expire_and_free_their_place_when_finished(
    limited: Any, settings: Settings, redis_client: aioredis.Redis
) -> None:
    tuned = {"signin_pending_max": 2, "signin_ttl_s": 120}
    async with limited(**tuned) as service, browser() as http:
        first = await start_sign_in(http, service.url, "first@x.io")
        await start_sign_in(http, service.url, "second@x.io")
        full = await call(http, "GET", f"{service.url}/auth/login")
        assert full.status == 503 and full.body["reason"] == "sign-ins-pending-full"
        assert full.response.headers["Retry-After"]
        for key in [k async for k in redis_client.scan_iter(settings.key("oauth", "*"))]:
            assert 0 < await redis_client.ttl(key) <= 120
        await finish_sign_in(http, await authorize(http, first))
        assert (await call(http, "GET", f"{service.url}/auth/login")).status == 302


def test_the_tests_switch_off_only_the_per_client_limits(settings: Settings) -> None:
    assert_only_per_client_limits_off(settings)


def assert_only_per_client_limits_off(settings: Settings) -> None:
    defaults = Settings()
    for field in dataclasses.fields(Settings):
        if field.name.startswith("rate_limit_") and field.name.endswith("_per_client"):
            assert getattr(settings, field.name) == 0
        elif field.name.startswith("rate_limit_"):
            assert getattr(settings, field.name) == getattr(defaults, field.name) > 0

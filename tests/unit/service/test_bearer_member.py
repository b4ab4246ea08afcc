"""A request's bearer token is verified once: the rate limit's member bucket and the view
share the verified member."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from service.adapters.tokens import AccessTokens
from service.bootstrap import SETTINGS
from service.config import Settings
from service.domain.errors import Unauthorized
from service.http.auth import MEMBER, current_member, verify_bearer


def request_with(authorization: str | None) -> web.Request:
    app = web.Application()
    app[SETTINGS] = Settings()
    headers = {"Authorization": authorization} if authorization is not None else {}
    return make_mocked_request("POST", "/api/v1/concerts/1/holds", headers=headers, app=app)


def test_a_verified_token_leaves_its_member_on_the_request() -> None:
    request = request_with("Bearer " + AccessTokens(Settings()).issue(42))
    assert verify_bearer(request) == 42
    assert request[MEMBER] == 42


async def test_a_member_verified_earlier_in_the_request_is_not_verified_again() -> None:
    request = request_with("Bearer not-a-jwt")  # would be refused if verified
    request[MEMBER] = 7
    assert await current_member(request) == 7


async def test_without_an_earlier_verification_a_bad_token_is_refused() -> None:
    with pytest.raises(Unauthorized, match="malformed"):
        await current_member(request_with("Bearer not-a-jwt"))
    with pytest.raises(Unauthorized, match="header is required"):
        await current_member(request_with(None))

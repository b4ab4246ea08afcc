"""Signing in the way a browser (or a load-test user) does: login, provider, callback.

The service binds a sign-in to the browser that started it with a cookie, so the session
that signs in must keep cookies as a browser does (``browser()``).
"""

from __future__ import annotations

from typing import Any

import aiohttp


def browser(**kwargs: Any) -> aiohttp.ClientSession:
    """A client session that keeps cookies as a browser does, for 127.0.0.1 too (aiohttp's
    default jar refuses cookies of IP addresses)."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), **kwargs)


async def start_sign_in(session: aiohttp.ClientSession, service_url: str, hint: str) -> str:
    """Returns the provider's authorize URL the service redirected to."""
    async with session.get(
        f"{service_url}/auth/login", params={"login_hint": hint}, allow_redirects=False
    ) as response:
        assert response.status == 302, await response.text()
        return response.headers["Location"]


async def authorize(session: aiohttp.ClientSession, authorize_url: str) -> str:
    """Returns the service callback URL (with code and state) the provider redirected to."""
    async with session.get(authorize_url, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        return response.headers["Location"]


async def finish_sign_in(session: aiohttp.ClientSession, callback_url: str) -> dict[str, Any]:
    async with session.get(callback_url, allow_redirects=False) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def sign_in(session: aiohttp.ClientSession, service_url: str, hint: str) -> dict[str, Any]:
    authorize_url = await start_sign_in(session, service_url, hint)
    return await finish_sign_in(session, await authorize(session, authorize_url))


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}

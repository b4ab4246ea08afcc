"""Sign-in end to end: a test app with the sign-in routes and the lab IdP, on real ports.

The callback is reached through the provider's redirect, so both servers listen on
127.0.0.1; the test app is the real auth module with the real problem middleware, on this
module's own database and Redis prefix.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
import pytest
import redis.asyncio as aioredis
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from providers.idp.app import KEY, create_app
from providers.idp.config import IdpConfig
from providers.idp.keys import SigningKey
from service.adapters.db import Database
from service.adapters.oauth_state import OAuthStateStore, PendingLogin, new_binding
from service.adapters.oidc import OidcClient
from service.adapters.tokens import AccessTokens
from service.bootstrap import DB, OIDC_CLIENT, REDIS, SETTINGS, oidc_ctx
from service.config import Settings
from service.domain.errors import Contention, NotThisBrowser, ProviderUnavailable, Unauthorized
from service.http.auth import BINDING_COOKIE, current_member
from service.http.problems import PROBLEM_JSON, problem_middleware, rule_for
from service.http.routes import add_auth_routes
from service.http.telemetry import telemetry_middleware
from service.request_id import RequestIdFilter
from tests.support.http import call
from tests.support.servers import Service, serving_app
from tests.support.signin import authorize, browser, sign_in

Tamper = Callable[[str, SigningKey], str]


def bound_socket() -> socket.socket:
    """A listening address known before the app is built (its URL goes into settings)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    return sock


def url_of(sock: socket.socket) -> str:
    return f"http://127.0.0.1:{sock.getsockname()[1]}"


@dataclass
class Idp:
    url: str
    app: web.Application
    tamper: Tamper | None = None


@pytest.fixture(scope="module")
async def idp() -> AsyncIterator[Idp]:
    """The real provider, plus a switch to tamper with the id_tokens it hands out."""
    sock = bound_socket()
    app = create_app(IdpConfig(issuer=url_of(sock)))
    server = Idp(url_of(sock), app)

    @web.middleware
    async def tampering(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if server.tamper is None or not request.path.endswith("/token") or response.status != 200:
            return response
        assert isinstance(response, web.Response) and response.body is not None
        body = json.loads(response.body)  # type: ignore[arg-type]
        body["id_token"] = server.tamper(body["id_token"], app[KEY])
        return web.json_response(body)

    app.middlewares.append(tampering)
    async with serving_app(app, sock):
        yield server


async def whoami(request: web.Request) -> web.Response:
    return web.json_response({"member_id": await current_member(request)})


def build_app(
    settings: Settings, db: Database, redis: aioredis.Redis, **auth: Any
) -> web.Application:
    app = web.Application(middlewares=[telemetry_middleware, problem_middleware])
    app[SETTINGS] = settings
    app[DB] = db
    app[REDIS] = redis
    app.cleanup_ctx.append(oidc_ctx(**auth))
    add_auth_routes(app)
    app.router.add_get("/whoami", whoami)
    return app


@asynccontextmanager
async def service_app(
    settings: Settings,
    db: Database,
    redis: aioredis.Redis,
    *,
    oidc_issuer: str,
    public_url: str | None = None,
    **auth: Any,
) -> AsyncIterator[Service]:
    sock = bound_socket()
    url = url_of(sock)
    settings = dataclasses.replace(settings, oidc_issuer=oidc_issuer, public_url=public_url or url)
    app = build_app(settings, db, redis, **auth)
    async with serving_app(app, sock):
        yield Service(url, app, settings)


@pytest.fixture(scope="module")
async def service(
    settings: Settings, db: Database, redis_client: aioredis.Redis, idp: Idp
) -> AsyncIterator[Service]:
    async with service_app(settings, db, redis_client, oidc_issuer=idp.url) as running:
        yield running


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with browser() as session:
        yield session


@pytest.fixture
def tamper(idp: Idp) -> Iterator[Callable[[Tamper], None]]:
    """Makes the IdP's token endpoint rewrite id_tokens, until the test ends."""

    def switch(how: Tamper) -> None:
        idp.tamper = how

    yield switch
    idp.tamper = None


# -- the flow, step by step ----------------------------------------------------------------


async def login(http: aiohttp.ClientSession, service: Service, hint: str | None) -> str:
    params = {"login_hint": hint} if hint else {}
    async with http.get(f"{service.url}/auth/login", params=params, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        assert resp.headers["Cache-Control"] == "no-store"
        return resp.headers["Location"]


async def whoami_status(
    http: aiohttp.ClientSession, service: Service, token: str
) -> tuple[int, Any, aiohttp.ClientResponse]:
    return await call(
        http, "GET", f"{service.url}/whoami", headers={"Authorization": f"Bearer {token}"}
    )


def assert_problem(status: int, body: Any, resp: aiohttp.ClientResponse, expected: int) -> None:
    assert status == expected, body
    assert resp.content_type == PROBLEM_JSON
    assert body["status"] == expected and body["type"] and body["title"]


# -- tests ---------------------------------------------------------------------------------


async def test_sign_in_end_to_end(
    http: aiohttp.ClientSession, service: Service, idp: Idp, db: Database
) -> None:
    authorize_url = await login(http, service, "alice@example.com")
    assert authorize_url.startswith(f"{idp.url}/authorize?")
    query = parse_qs(urlsplit(authorize_url).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"{service.url}/auth/callback"]
    callback_url = await authorize(http, authorize_url)
    assert callback_url.startswith(f"{service.url}/auth/callback?")
    status, tokens, resp = await call(http, "GET", callback_url)
    assert status == 200, tokens
    assert resp.headers["Cache-Control"] == "no-store"
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == service.settings.access_token_ttl_s
    assert isinstance(tokens["refresh_token"], str)

    status, body, _ = await whoami_status(http, service, tokens["access_token"])
    assert (status, body) == (200, {"member_id": tokens["member_id"]})
    member = await db.fetch_one("SELECT * FROM members WHERE id = %s", (tokens["member_id"],))
    assert member is not None
    assert (member["issuer"], member["email"]) == (idp.url, "alice@example.com")


async def test_following_redirects_like_curl_ends_in_tokens(
    http: aiohttp.ClientSession, service: Service
) -> None:
    """``curl -sL /auth/login?login_hint=…`` lands on the callback's JSON."""
    async with http.get(
        f"{service.url}/auth/login", params={"login_hint": "curl@example.com"}
    ) as resp:
        assert resp.status == 200
        assert len(resp.history) == 2
        tokens = await resp.json()
    assert (await whoami_status(http, service, tokens["access_token"]))[0] == 200


async def test_the_same_hint_is_the_same_member(
    http: aiohttp.ClientSession, service: Service
) -> None:
    first = await sign_in(http, service.url, "bob@example.com")
    again = await sign_in(http, service.url, "bob@example.com")
    other = await sign_in(http, service.url, "carol@example.com")
    assert first["member_id"] == again["member_id"] != other["member_id"]


async def test_a_flow_started_on_one_app_finishes_on_another(
    http: aiohttp.ClientSession,
    service: Service,
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    idp: Idp,
) -> None:
    """Nothing per process: a second app instance starts, the first one's callback finishes."""
    async with service_app(
        settings, db, redis_client, oidc_issuer=idp.url, public_url=service.url
    ) as starter:
        callback_url = await authorize(http, await login(http, starter, "dave@x.org"))
    assert callback_url.startswith(service.url)
    status, tokens, _ = await call(http, "GET", callback_url)
    assert status == 200, tokens


@pytest.mark.parametrize(
    "case",
    ["expired", "wrong signature", "alg none", "wrong audience", "wrong issuer", "garbage"],
)
async def test_bad_access_tokens_are_401_problems(
    http: aiohttp.ClientSession, service: Service, case: str
) -> None:
    settings = service.settings
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "1",
        "iat": now,
        "exp": now + 60,
    }
    secret = settings.jwt_secret
    if case == "expired":
        token = AccessTokens(settings).issue(1, now=now - settings.access_token_ttl_s - 60)
    elif case == "wrong signature":
        token = jwt.encode(claims, "x" * 48, algorithm="HS256")
    elif case == "alg none":
        token = jwt.encode(claims, None, algorithm="none")
    elif case == "wrong audience":
        token = jwt.encode({**claims, "aud": "elsewhere"}, secret, algorithm="HS256")
    elif case == "wrong issuer":
        token = jwt.encode({**claims, "iss": "elsewhere"}, secret, algorithm="HS256")
    else:
        token = "garbage"
    status, body, resp = await whoami_status(http, service, token)
    assert_problem(status, body, resp, 401)
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer  "])
async def test_missing_or_malformed_authorization_is_401(
    http: aiohttp.ClientSession, service: Service, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    status, body, resp = await call(http, "GET", f"{service.url}/whoami", headers=headers)
    assert_problem(status, body, resp, 401)


async def test_refresh_rotates_and_reuse_revokes_the_family(
    http: aiohttp.ClientSession, service: Service
) -> None:
    tokens = await sign_in(http, service.url, "erin@example.com")
    refresh = f"{service.url}/auth/refresh"
    status, rotated, _ = await call(
        http, "POST", refresh, json={"refresh_token": tokens["refresh_token"]}
    )
    assert status == 200, rotated
    assert rotated["member_id"] == tokens["member_id"]
    assert rotated["refresh_token"] != tokens["refresh_token"]
    assert (await whoami_status(http, service, rotated["access_token"]))[0] == 200

    status, body, resp = await call(
        http, "POST", refresh, json={"refresh_token": tokens["refresh_token"]}
    )
    assert_problem(status, body, resp, 401)
    status, body, resp = await call(
        http, "POST", refresh, json={"refresh_token": rotated["refresh_token"]}
    )
    assert_problem(status, body, resp, 401)
    assert "revoked" in body["detail"]


async def test_logout_revokes_the_refresh_token(
    http: aiohttp.ClientSession, service: Service
) -> None:
    tokens = await sign_in(http, service.url, "frank@example.com")
    body = {"refresh_token": tokens["refresh_token"]}
    status, _, _ = await call(http, "POST", f"{service.url}/auth/logout", json=body)
    assert status == 204
    status, problem, resp = await call(http, "POST", f"{service.url}/auth/refresh", json=body)
    assert_problem(status, problem, resp, 401)


@pytest.mark.parametrize("path", ["/auth/refresh", "/auth/logout"])
@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", 400),
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (b"[]", 400),
        (b'"token"', 400),
        (b"[" * 20_000, 400),  # a RecursionError inside json.loads
        (b'{"refresh_token": ' + b"1" * 5000 + b"}", 400),  # past the int-digits limit
        (b"{}", 422),
        (b'{"refresh_token": 5}', 422),
        (b'{"refresh_token": ""}', 422),
        (b'{"refresh_token": "%s"}' % (b"x" * 300), 422),
    ],
)
async def test_malformed_refresh_bodies_are_4xx_problems(
    http: aiohttp.ClientSession, service: Service, path: str, data: bytes, expected: int
) -> None:
    status, body, resp = await call(
        http, "POST", service.url + path, data=data, headers={"Content-Type": "application/json"}
    )
    assert_problem(status, body, resp, expected)


async def test_a_state_works_once(http: aiohttp.ClientSession, service: Service) -> None:
    callback_url = await authorize(http, await login(http, service, "gina@example.com"))
    assert (await call(http, "GET", callback_url))[0] == 200
    status, body, resp = await call(http, "GET", callback_url)
    assert_problem(status, body, resp, 400)
    assert "state" in body["detail"]


@pytest.mark.parametrize(
    ("query", "bound", "expected"),
    [
        ({"code": "c", "state": secrets.token_urlsafe(32)}, True, 400),  # unknown state
        ({"code": "c", "state": secrets.token_urlsafe(32)}, False, 403),  # and no binding
        ({"code": "c", "state": "../../etc"}, True, 400),  # not even a state
        ({"state": secrets.token_urlsafe(32)}, True, 400),  # no code
        ({"code": "c"}, True, 400),  # no state
        ({}, True, 400),
        ({"error": "access_denied", "state": secrets.token_urlsafe(32)}, True, 400),
        ({"error": "access_denied", "state": secrets.token_urlsafe(32)}, False, 403),
        ({"code": "c" * 5000, "state": "s"}, True, 400),
        ({"code": "c\x01", "state": secrets.token_urlsafe(32)}, True, 400),
    ],
)
async def test_bad_callbacks_are_4xx_problems(
    service: Service, query: dict[str, str], bound: bool, expected: int
) -> None:
    cookies = {BINDING_COOKIE: new_binding()} if bound else None
    async with browser(cookies=cookies) as fresh:
        status, body, resp = await call(fresh, "GET", f"{service.url}/auth/callback", params=query)
    assert_problem(status, body, resp, expected)


async def test_the_login_cookie_is_short_lived_httponly_lax_and_for_sign_in_only(
    service: Service,
) -> None:
    async with browser() as fresh:
        status, _, resp = await call(fresh, "GET", f"{service.url}/auth/login")
    assert status == 302
    cookie = resp.cookies[BINDING_COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/auth"
    assert 0 < int(cookie["max-age"]) <= 600
    assert not cookie["secure"]  # the test service is on http://127.0.0.1
    assert len(cookie.value) == 43


async def test_a_stolen_callback_is_refused_and_the_browser_that_started_it_still_signs_in(
    service: Service,
) -> None:
    async with browser() as victim, browser() as thief:
        callback_url = await authorize(victim, await login(victim, service, "vic@x.io"))
        status, body, resp = await call(thief, "GET", callback_url)
        assert_problem(status, body, resp, 403)
        assert body["type"].endswith("/sign-in-not-from-this-browser")
        status, tokens, _ = await call(victim, "GET", callback_url)
    assert status == 200 and tokens["access_token"]


async def test_a_thief_with_a_sign_in_of_their_own_is_refused_too(service: Service) -> None:
    async with browser() as victim, browser() as thief:
        await login(thief, service, "thief@x.io")  # the thief's browser has a binding too
        callback_url = await authorize(victim, await login(victim, service, "vic@x.io"))
        status, body, resp = await call(thief, "GET", callback_url)
        assert_problem(status, body, resp, 403)
        assert (await call(victim, "GET", callback_url))[0] == 200


async def test_a_forged_error_callback_cannot_cancel_someone_elses_sign_in(
    service: Service,
) -> None:
    async with browser() as victim, browser() as forger:
        callback_url = await authorize(victim, await login(victim, service, "vic@x.io"))
        state = parse_qs(urlsplit(callback_url).query)["state"][0]
        forged = {"error": "access_denied", "state": state}
        status, body, resp = await call(
            forger, "GET", f"{service.url}/auth/callback", params=forged
        )
        assert_problem(status, body, resp, 403)
        assert (await call(victim, "GET", callback_url))[0] == 200


async def test_two_sign_ins_started_in_one_browser_both_finish(service: Service) -> None:
    async with browser() as tabs:
        first = await authorize(tabs, await login(tabs, service, "tab1@x.io"))
        second = await authorize(tabs, await login(tabs, service, "tab2@x.io"))
        assert (await call(tabs, "GET", second))[0] == 200
        assert (await call(tabs, "GET", first))[0] == 200


async def test_a_provider_error_redirect_burns_the_state(
    http: aiohttp.ClientSession, service: Service
) -> None:
    authorize_url = await login(http, service, None)  # no hint: the IdP says login_required
    callback_url = await authorize(http, authorize_url)
    assert "error=login_required" in callback_url
    status, body, resp = await call(http, "GET", callback_url)
    assert_problem(status, body, resp, 400)
    assert "login_required" in body["detail"]


async def test_a_refused_code_is_a_400(http: aiohttp.ClientSession, service: Service) -> None:
    callback_url = await authorize(http, await login(http, service, "hal@example.com"))
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback_url).query).items()}
    query["code"] = "forged-code"
    status, body, resp = await call(http, "GET", f"{service.url}/auth/callback", params=query)
    assert_problem(status, body, resp, 400)
    assert "refused the authorization code" in body["detail"]


def _resign(**changes: Any) -> Tamper:
    def tamper(token: str, key: SigningKey) -> str:
        claims = jwt.decode(token, options={"verify_signature": False})
        return key.sign({**claims, **changes})

    return tamper


def _flip_signature(token: str, key: SigningKey) -> str:
    head, body, signature = token.split(".")
    middle = len(signature) // 2
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{body}.{signature[:middle]}{flipped}{signature[middle + 1 :]}"


def _foreign_key(token: str, key: SigningKey) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    return SigningKey().sign(claims)


def _foreign_key_posing_as_ours(token: str, key: SigningKey) -> str:
    claims = jwt.decode(token, options={"verify_signature": False})
    impostor = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, impostor, algorithm="RS256", headers={"kid": key.kid})


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(token: str, key: SigningKey) -> str:
    """The classic algorithm confusion: HMAC keyed with the provider's public key."""
    claims = jwt.decode(token, options={"verify_signature": False})
    pem = key.public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = {"alg": "HS256", "typ": "JWT", "kid": key.kid}
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(mac)}"


@pytest.mark.parametrize(
    "how",
    [
        _flip_signature,
        _foreign_key,
        _foreign_key_posing_as_ours,
        _hs256_with_public_key,
        _resign(nonce="someone-elses"),
        _resign(aud="another-client"),
        _resign(iss="http://evil.example"),
        _resign(exp=int(time.time()) - 3600),
    ],
    ids=[
        "bad-signature",
        "foreign-key",
        "our-kid",
        "alg-confusion",
        "nonce",
        "aud",
        "iss",
        "expired",
    ],
)
async def test_a_tampered_id_token_is_refused(
    http: aiohttp.ClientSession,
    service: Service,
    tamper: Callable[[Tamper], None],
    how: Tamper,
) -> None:
    tamper(how)
    callback_url = await authorize(http, await login(http, service, "ivy@example.com"))
    status, body, resp = await call(http, "GET", callback_url)
    assert_problem(status, body, resp, 401)
    assert "id_token" in body["detail"]


async def test_verify_id_token_directly(service: Service, idp: Idp) -> None:
    client = service.app[OIDC_CLIENT]
    key = idp.app[KEY]
    now = int(time.time())
    claims = {
        "iss": idp.url,
        "aud": service.settings.oidc_client_id,
        "sub": "subject-1",
        "iat": now,
        "exp": now + 60,
        "nonce": "n1",
        "email": "x@example.com",
    }
    identity = await client.verify_id_token(key.sign(claims), "n1")
    assert (identity.issuer, identity.subject, identity.email) == (
        idp.url,
        "subject-1",
        claims["email"],
    )
    with pytest.raises(Unauthorized, match="nonce"):
        await client.verify_id_token(key.sign(claims), "n2")
    with pytest.raises(Unauthorized, match="nonce"):
        await client.verify_id_token(key.sign({**claims, "nonce": None}), "n1")
    with pytest.raises(Unauthorized, match="'sub'"):
        await client.verify_id_token(key.sign({**claims, "sub": None}), "n1")
    with pytest.raises(Unauthorized, match="another party"):
        await client.verify_id_token(key.sign({**claims, "azp": "other"}), "n1")
    unknown_kid = SigningKey().sign(claims)
    with pytest.raises(Unauthorized, match="does not publish"):
        await client.verify_id_token(unknown_kid, "n1")
    with pytest.raises(Unauthorized, match="malformed"):
        await client.verify_id_token("not-a-jwt", "n1")


# -- the provider down or slow: a fast 503, never a hang -----------------------------------


async def test_an_unreachable_provider_is_a_503(
    http: aiohttp.ClientSession, settings: Settings, db: Database, redis_client: aioredis.Redis
) -> None:
    closed = bound_socket()
    dead_url = url_of(closed)
    closed.close()
    async with service_app(settings, db, redis_client, oidc_issuer=dead_url) as dead:
        status, body, resp = await call(
            http, "GET", f"{dead.url}/auth/login", params={"login_hint": "a@b.c"}
        )
    assert_problem(status, body, resp, 503)
    assert resp.headers["Retry-After"]


@asynccontextmanager
async def silent_server() -> AsyncIterator[str]:
    """Accepts connections and never answers: what a hung provider looks like."""
    writers: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await server.wait_closed()


async def test_an_unreachable_provider_is_named_to_the_client_and_located_in_the_log(
    http: aiohttp.ClientSession,
    settings: Settings,
    db: Database,
    redis_client: aioredis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The problem says which provider is down; its address and the exception text go to
    the log line that carries the request id, for whoever runs the service."""
    closed = bound_socket()
    port = closed.getsockname()[1]
    closed.close()
    caplog.handler.addFilter(RequestIdFilter())
    with caplog.at_level(logging.WARNING, logger="service.adapters.oidc"):
        async with service_app(
            settings, db, redis_client, oidc_issuer=f"http://127.0.0.1:{port}"
        ) as svc:
            status, body, resp = await call(
                http, "GET", f"{svc.url}/auth/login", headers={"X-Request-Id": "req-idp-down"}
            )
    assert_problem(status, body, resp, 503)
    assert body["type"].endswith("/identity-provider-unavailable")
    assert str(port) not in json.dumps(body) and "Error" not in body["detail"]
    located = [r for r in caplog.records if str(port) in r.getMessage()]
    assert [r.request_id for r in located] == ["req-idp-down"]  # type: ignore[attr-defined]


async def test_a_hung_provider_times_out_as_a_503(
    http: aiohttp.ClientSession, settings: Settings, db: Database, redis_client: aioredis.Redis
) -> None:
    timeout = aiohttp.ClientTimeout(total=0.5)
    async with (
        silent_server() as hung_url,
        service_app(settings, db, redis_client, oidc_issuer=hung_url, timeout=timeout) as hung,
    ):
        started = time.monotonic()
        status, body, resp = await call(http, "GET", f"{hung.url}/auth/login")
        assert time.monotonic() - started < 5
    assert_problem(status, body, resp, 503)


async def test_a_wrong_issuer_in_discovery_is_a_502(
    settings: Settings, redis_client: aioredis.Redis, idp: Idp
) -> None:
    """The discovery document must name the issuer we were configured with."""
    pretend = dataclasses.replace(settings, oidc_issuer=idp.url + "/")
    async with aiohttp.ClientSession() as session:
        client = OidcClient(pretend, session)
        assert (await client.metadata()).issuer == idp.url  # a trailing '/' is tolerated
        other = OidcClient(dataclasses.replace(settings, oidc_issuer=idp.url + "/x"), session)
        with pytest.raises(ProviderUnavailable) as caught:
            await other.metadata()
        assert rule_for(caught.value).status == 502
        store = OAuthStateStore(redis_client, settings)
        with pytest.raises(ProviderUnavailable):
            await other.start_login(store, "a@b.c", new_binding())


async def test_oauth_state_is_single_use_and_expires(
    settings: Settings, redis_client: aioredis.Redis
) -> None:
    store = OAuthStateStore(redis_client, settings, ttl_s=30)
    state, binding = secrets.token_urlsafe(32), new_binding()
    pending = PendingLogin.new("http://127.0.0.1/cb", binding)
    await store.put(state, pending)
    key = settings.key("oauth", state)
    assert 0 < await redis_client.ttl(key) <= 30
    assert binding not in await redis_client.get(key)  # only its hash is stored
    with pytest.raises(NotThisBrowser):
        await store.take(state, new_binding())
    assert await store.take(state, binding) == pending
    assert await store.take(state, binding) is None
    assert await store.take("bad state!", binding) is None


@asynccontextmanager
async def fake_provider(token_status: int, token_body: bytes) -> AsyncIterator[str]:
    """Discovery that works and a token endpoint that answers ``token_status``/``token_body``."""
    sock = bound_socket()
    url = url_of(sock)

    async def discovery(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "issuer": url,
                "authorization_endpoint": f"{url}/authorize",
                "token_endpoint": f"{url}/token",
                "jwks_uri": f"{url}/jwks",
            }
        )

    async def token(request: web.Request) -> web.Response:
        return web.Response(status=token_status, body=token_body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/.well-known/openid-configuration", discovery)
    app.router.add_post("/token", token)
    async with serving_app(app, sock):
        yield url


@pytest.mark.parametrize(
    ("token_status", "token_body", "expected"),
    [
        (500, b"{}", 503),
        (503, b"oops", 503),
        (401, b'{"error": "invalid_client"}', 502),
        (400, b'{"error": "invalid_request"}', 502),
        (200, b'{"access_token": "no id_token"}', 502),
        (200, b"not json", 502),
    ],
)
async def test_token_endpoint_trouble_is_a_502_or_503(
    settings: Settings, token_status: int, token_body: bytes, expected: int
) -> None:
    async with (
        fake_provider(token_status, token_body) as url,
        aiohttp.ClientSession() as session,
    ):
        client = OidcClient(dataclasses.replace(settings, oidc_issuer=url), session)
        with pytest.raises(ProviderUnavailable) as caught:
            await client.exchange_code("code", PendingLogin.new("http://127.0.0.1/cb"))
    assert rule_for(caught.value).status == expected


async def test_a_provider_that_dies_mid_flow_is_a_503_at_the_callback(
    http: aiohttp.ClientSession, settings: Settings, db: Database, redis_client: aioredis.Redis
) -> None:
    provider = fake_provider(200, b"{}")
    url = await provider.__aenter__()
    provider_up = True
    try:
        async with service_app(settings, db, redis_client, oidc_issuer=url) as svc:
            authorize_url = await login(http, svc, "kim@example.com")  # discovery now cached
            await provider.__aexit__(None, None, None)
            provider_up = False
            query = {"code": "c", "state": parse_qs(urlsplit(authorize_url).query)["state"][0]}
            started = time.monotonic()
            status, body, resp = await call(http, "GET", f"{svc.url}/auth/callback", params=query)
            assert time.monotonic() - started < 5
    finally:
        if provider_up:
            await provider.__aexit__(None, None, None)
    assert_problem(status, body, resp, 503)
    assert "token endpoint" in body["detail"]


async def test_redis_down_is_a_retryable_contention(settings: Settings) -> None:
    closed = bound_socket()
    port = closed.getsockname()[1]
    closed.close()
    client = aioredis.Redis(
        host="127.0.0.1", port=port, socket_connect_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        store = OAuthStateStore(client, settings)
        with pytest.raises(Contention):
            await store.put(secrets.token_urlsafe(32), PendingLogin.new("http://x/cb"))
        with pytest.raises(Contention):
            await store.take(secrets.token_urlsafe(32), new_binding())
    finally:
        await client.aclose()

"""The lab's identity provider on a real port: discovery, JWKS, authorize, token, userinfo."""

from __future__ import annotations

import base64
import secrets
import socket
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import jwt
import pytest
from aiohttp import web

from providers.idp.__main__ import parse_args
from providers.idp.app import KEY, create_app, s256, subject_for
from providers.idp.codes import CodeGrant, CodeStore
from providers.idp.config import Client, IdpConfig
from service.adapters.oidc import basic_credentials
from tests.support.servers import serving_app

CLIENT_ID = "lab"
SECRET = "lab-secret"
REDIRECT = "http://127.0.0.1:1/cb"


@pytest.fixture(scope="module")
async def idp() -> AsyncIterator[tuple[str, web.Application]]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = IdpConfig(
        issuer=url,
        clients=(
            Client(CLIENT_ID, SECRET, "http://127.0.0.1:1/"),
            Client("other", "other-secret", "http://127.0.0.1:2/"),
        ),
        key_bits=2048,
    )
    app = create_app(config)
    async with serving_app(app, sock):
        yield url, app


@pytest.fixture(scope="module")
def idp_url(idp: tuple[str, web.Application]) -> str:
    return idp[0]


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def authorize_params(verifier: str, **overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": REDIRECT,
        "scope": "openid email",
        "state": "st-123",
        "nonce": "n-456",
        "code_challenge": s256(verifier),
        "code_challenge_method": "S256",
        "login_hint": "alice@example.com",
        **overrides,
    }
    return {k: v for k, v in params.items() if v is not None}


async def authorize(
    http: aiohttp.ClientSession, idp_url: str, params: dict[str, str]
) -> dict[str, str]:
    """The query the provider redirected back with."""
    async with http.get(f"{idp_url}/authorize", params=params, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    assert location.startswith(params.get("redirect_uri", REDIRECT))
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def get_code(http: aiohttp.ClientSession, idp_url: str, verifier: str, **kw: Any) -> str:
    query = await authorize(http, idp_url, authorize_params(verifier, **kw))
    assert query["state"] == "st-123"
    return query["code"]


async def exchange(
    http: aiohttp.ClientSession,
    idp_url: str,
    code: str,
    verifier: str,
    *,
    basic: tuple[str, str] | None = (CLIENT_ID, SECRET),
    **form: str,
) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
        **form,
    }
    headers = {"Authorization": basic_credentials(*basic)} if basic else {}
    async with http.post(f"{idp_url}/token", data=data, headers=headers) as resp:
        return resp.status, await resp.json(), resp


def new_verifier() -> str:
    return secrets.token_urlsafe(48)


async def jwks_key(http: aiohttp.ClientSession, idp_url: str) -> jwt.PyJWK:
    async with http.get(f"{idp_url}/jwks") as resp:
        assert resp.status == 200
        (key,) = (await resp.json())["keys"]
    return jwt.PyJWK(key)


async def test_discovery_publishes_endpoints_under_the_issuer(
    http: aiohttp.ClientSession, idp_url: str
) -> None:
    async with http.get(f"{idp_url}/.well-known/openid-configuration") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["issuer"] == idp_url
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
        assert doc[name].startswith(idp_url + "/")
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert set(doc["token_endpoint_auth_methods_supported"]) == {
        "client_secret_basic",
        "client_secret_post",
    }


async def test_jwks_publishes_one_rsa_signing_key_with_a_kid(
    http: aiohttp.ClientSession, idp: tuple[str, web.Application]
) -> None:
    url, app = idp
    key = await jwks_key(http, url)
    assert key.key_type == "RSA"
    assert key.key_id == app[KEY].kid
    assert key.public_key_use == "sig"
    token = app[KEY].sign({"hello": "world"})
    assert jwt.get_unverified_header(token)["kid"] == key.key_id
    assert jwt.decode(token, key.key, algorithms=["RS256"]) == {"hello": "world"}


async def test_code_flow_issues_a_verifiable_id_token(
    http: aiohttp.ClientSession, idp_url: str
) -> None:
    verifier = new_verifier()
    code = await get_code(http, idp_url, verifier)
    status, body, resp = await exchange(http, idp_url, code, verifier)
    assert status == 200, body
    assert resp.headers["Cache-Control"] == "no-store"
    assert body["token_type"] == "Bearer"
    key = await jwks_key(http, idp_url)
    claims = jwt.decode(
        body["id_token"],
        key.key,
        algorithms=["RS256"],
        audience=CLIENT_ID,
        issuer=idp_url,
        options={"require": ["exp", "iat", "sub", "nonce"]},
    )
    assert claims["sub"] == subject_for("alice@example.com")
    assert claims["nonce"] == "n-456"
    assert claims["email"] == "alice@example.com"
    assert claims["name"] == "alice"

    async with http.get(
        f"{idp_url}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
    ) as resp:
        assert resp.status == 200
        assert (await resp.json())["sub"] == claims["sub"]


async def test_the_same_hint_is_the_same_subject() -> None:
    assert subject_for("Bob@Example.com ") == subject_for("bob@example.com")
    assert subject_for("bob@example.com") != subject_for("carol@example.com")


async def test_client_secret_post_is_accepted(http: aiohttp.ClientSession, idp_url: str) -> None:
    verifier = new_verifier()
    code = await get_code(http, idp_url, verifier)
    status, body, _ = await exchange(
        http, idp_url, code, verifier, basic=None, client_id=CLIENT_ID, client_secret=SECRET
    )
    assert status == 200, body
    assert "id_token" in body


async def test_a_code_works_once(http: aiohttp.ClientSession, idp_url: str) -> None:
    verifier = new_verifier()
    code = await get_code(http, idp_url, verifier)
    assert (await exchange(http, idp_url, code, verifier))[0] == 200
    status, body, _ = await exchange(http, idp_url, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


async def test_pkce_mismatch_is_invalid_grant_and_burns_the_code(
    http: aiohttp.ClientSession, idp_url: str
) -> None:
    verifier = new_verifier()
    code = await get_code(http, idp_url, verifier)
    status, body, _ = await exchange(http, idp_url, code, new_verifier())
    assert (status, body["error"]) == (400, "invalid_grant")
    status, body, _ = await exchange(http, idp_url, code, verifier)
    assert (status, body["error"]) == (400, "invalid_grant")


@pytest.mark.parametrize(
    ("basic", "form", "status", "error"),
    [
        ((CLIENT_ID, "wrong"), {}, 401, "invalid_client"),
        (("nobody", SECRET), {}, 401, "invalid_client"),
        (None, {}, 401, "invalid_client"),
        (None, {"client_id": CLIENT_ID, "client_secret": "wrong"}, 401, "invalid_client"),
        ((CLIENT_ID, SECRET), {"client_secret": SECRET}, 400, "invalid_request"),
        ((CLIENT_ID, SECRET), {"grant_type": "password"}, 400, "unsupported_grant_type"),
        ((CLIENT_ID, SECRET), {"redirect_uri": "http://127.0.0.1:1/other"}, 400, "invalid_grant"),
        ((CLIENT_ID, SECRET), {"code_verifier": "short"}, 400, "invalid_request"),
        (("other", "other-secret"), {}, 400, "invalid_grant"),
    ],
)
async def test_token_endpoint_errors(
    http: aiohttp.ClientSession,
    idp_url: str,
    basic: tuple[str, str] | None,
    form: dict[str, str],
    status: int,
    error: str,
) -> None:
    verifier = new_verifier()
    code = await get_code(http, idp_url, verifier)
    got_status, body, resp = await exchange(http, idp_url, code, verifier, basic=basic, **form)
    assert (got_status, body["error"]) == (status, error), body
    assert resp.content_type == "application/json"


async def test_token_endpoint_rejects_non_form_bodies(
    http: aiohttp.ClientSession, idp_url: str
) -> None:
    async with http.post(f"{idp_url}/token", json={"grant_type": "authorization_code"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_request"
    basic = "Basic " + base64.b64encode(b"\xff\xfe").decode()
    async with http.post(
        f"{idp_url}/token", data={"grant_type": "x"}, headers={"Authorization": basic}
    ) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"code_challenge": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"code_challenge_method": None}, "invalid_request"),
        ({"nonce": None}, "invalid_request"),
        ({"scope": "email"}, "invalid_scope"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"login_hint": None}, "login_required"),
    ],
)
async def test_authorize_errors_go_back_to_the_client(
    http: aiohttp.ClientSession, idp_url: str, overrides: dict[str, str | None], error: str
) -> None:
    query = await authorize(http, idp_url, authorize_params(new_verifier(), **overrides))
    assert query["error"] == error
    assert query["state"] == "st-123"
    assert "code" not in query


@pytest.mark.parametrize(
    "overrides",
    [
        {"client_id": "nobody"},
        {"client_id": None},
        {"redirect_uri": "http://evil.example/cb"},
        {"redirect_uri": "http://127.0.0.1:1@evil.example/cb"},
        {"redirect_uri": "http://127.0.0.1:2/cb"},
        {"redirect_uri": None},
    ],
)
async def test_authorize_never_redirects_to_an_unregistered_uri(
    http: aiohttp.ClientSession, idp_url: str, overrides: dict[str, str | None]
) -> None:
    params = authorize_params(new_verifier(), **overrides)
    async with http.get(f"{idp_url}/authorize", params=params, allow_redirects=False) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_request"


async def test_unknown_paths_and_methods_answer_oauth_json(
    http: aiohttp.ClientSession, idp_url: str
) -> None:
    async with http.get(f"{idp_url}/nope") as resp:
        assert resp.status == 404
        assert (await resp.json())["error"] == "invalid_request"
    async with http.get(f"{idp_url}/token") as resp:
        assert resp.status == 405
    async with http.get(f"{idp_url}/userinfo") as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_token"


def test_codes_expire_and_are_single_use() -> None:
    now = [100.0]
    store = CodeStore(ttl_s=10, clock=lambda: now[0])
    grant = CodeGrant("c", "r", "openid", "n", "x", "s", "e", "n", 0, expires_at=store.deadline())
    fresh, stale = store.put(grant), store.put(grant)
    assert store.take(fresh) == grant
    assert store.take(fresh) is None
    now[0] += 11
    assert store.take(stale) is None
    store.put(CodeGrant("c", "r", "openid", "n", "x", "s", "e", "n", 0, store.deadline() - 20))
    store.put(CodeGrant("c", "r", "openid", "n", "x", "s", "e", "n", 0, store.deadline()))
    assert len(store) == 1  # the expired one was purged on the next put


@pytest.mark.parametrize(
    ("uri", "allowed"),
    [
        ("http://127.0.0.1:8080/auth/callback", True),
        ("http://127.0.0.1:8080/auth/callback?x=1", True),
        ("http://127.0.0.1:80@evil.example/", False),
        ("http://127.0.0.1:8080/cb#frag", False),
        ("https://evil.example/", False),
        ("http://127.0.0.1:bad/", False),
        ("javascript:alert(1)", False),
    ],
)
def test_redirect_prefix_matching(uri: str, allowed: bool) -> None:
    client = Client.parse("ticketlab:secret:http://127.0.0.1:")
    assert client.allows_redirect(uri) is allowed


def test_cli_defaults_match_the_service_settings() -> None:
    from service.config import Settings

    defaults = Settings()
    _, config = parse_args([])
    assert config.issuer == defaults.oidc_issuer
    client = config.client(defaults.oidc_client_id)
    assert client is not None and client.secret == defaults.oidc_client_secret
    assert client.allows_redirect(defaults.public_url + "/auth/callback")
    _, config = parse_args(["--port", "9123", "--client", "a:b:https://x.example/"])
    assert config.issuer == "http://127.0.0.1:9123"
    assert [c.client_id for c in config.clients] == ["a"]
    with pytest.raises(SystemExit):
        parse_args(["--client", "no-secret"])

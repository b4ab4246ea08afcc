"""The lab's OpenID Connect provider: discovery, JWKS, authorize, token, userinfo.

It behaves like a real provider on the wire (authorization code + PKCE S256, client
authentication, RS256 id_tokens, OAuth JSON errors), with one lab convenience: the
authorize endpoint signs in the ``login_hint`` user without showing a form, so load tests
sign in through the very same redirects a browser would follow. No back door: a relying
party must still complete the code exchange with its secret and the PKCE verifier.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import time
from typing import Any
from urllib.parse import unquote_plus

import jwt
from aiohttp import web
from multidict import MultiDictProxy
from yarl import URL

from providers.idp.codes import CodeGrant, CodeStore
from providers.idp.config import Client, IdpConfig
from providers.idp.errors import (
    NO_STORE,
    OAuthError,
    invalid_grant,
    invalid_request,
    oauth_error_middleware,
)
from providers.idp.keys import ALGORITHM, SigningKey

CONFIG = web.AppKey("idp_config", IdpConfig)
KEY = web.AppKey("idp_signing_key", SigningKey)
CODES = web.AppKey("idp_codes", CodeStore)

PKCE_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
PKCE_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
MAX_PARAM = 2048
MAX_LOGIN_HINT = 254
SUPPORTED_SCOPES = ("openid", "email", "profile")
FORM = "application/x-www-form-urlencoded"
CLAIMS = ("iss", "sub", "aud", "exp", "iat", "auth_time", "nonce")
CLAIMS += ("email", "email_verified", "name")


def subject_for(login_hint: str) -> str:
    """Stable across restarts and issuers, so the same hint is always the same member."""
    normalized = login_hint.strip().lower()
    return hashlib.sha256(b"ticketlab-idp:" + normalized.encode()).hexdigest()[:32]


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def optional(params: MultiDictProxy[Any], name: str) -> str | None:
    """At most one value of ``name``; OAuth forbids repeating a parameter (RFC 6749 §3.1)."""
    values = params.getall(name, [])
    if len(values) > 1:
        raise invalid_request(f"{name} is repeated")
    if not values or values[0] == "":
        return None
    value = values[0]
    if not isinstance(value, str) or len(value) > MAX_PARAM:
        raise invalid_request(f"{name} is not a valid value")
    return value


def required(params: MultiDictProxy[Any], name: str) -> str:
    value = optional(params, name)
    if value is None:
        raise invalid_request(f"{name} is required")
    return value


def discovery(config: IdpConfig) -> dict[str, Any]:
    return {
        "issuer": config.issuer,
        "authorization_endpoint": config.endpoint("/authorize"),
        "token_endpoint": config.endpoint("/token"),
        "jwks_uri": config.endpoint("/jwks"),
        "userinfo_endpoint": config.endpoint("/userinfo"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "scopes_supported": list(SUPPORTED_SCOPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS),
    }


async def openid_configuration(request: web.Request) -> web.Response:
    return web.json_response(discovery(request.app[CONFIG]))


async def jwks(request: web.Request) -> web.Response:
    return web.json_response(request.app[KEY].jwks(), headers={"Cache-Control": "max-age=300"})


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def authorize(request: web.Request) -> web.StreamResponse:
    """Validate the request; sign in ``login_hint``; redirect back with a code.

    Errors about the client or its redirect URI are answered here (redirecting to an
    unchecked URI would make us an open redirector); every other error goes back to the
    client's redirect URI as ``error=…&state=…``, as RFC 6749 §4.1.2.1 says.
    """
    config = request.app[CONFIG]
    params = request.query if request.method == "GET" else await _form(request)
    client_id = required(params, "client_id")
    client = config.client(client_id)
    if client is None:
        raise invalid_request("unknown client_id")
    redirect_uri = required(params, "redirect_uri")
    if not client.allows_redirect(redirect_uri):
        raise invalid_request("redirect_uri is not registered for this client")
    state = _echo_state(params)
    codes = request.app[CODES]
    try:
        grant = _grant_for(client, redirect_uri, params, expires_at=codes.deadline())
    except OAuthError as exc:
        query = {"error": exc.error, "error_description": exc.description}
        if state is not None:
            query["state"] = state
        raise web.HTTPFound(URL(redirect_uri).update_query(query), headers=NO_STORE) from None
    code = codes.put(grant)
    query = {"code": code}
    if state is not None:
        query["state"] = state
    raise web.HTTPFound(URL(redirect_uri).update_query(query), headers=NO_STORE)


def _echo_state(params: MultiDictProxy[Any]) -> str | None:
    """``state`` to send back, even on an error redirect; never raises."""
    values = params.getall("state", [])
    if len(values) == 1 and isinstance(values[0], str) and 0 < len(values[0]) <= MAX_PARAM:
        return values[0]
    return None


def _grant_for(
    client: Client, redirect_uri: str, params: MultiDictProxy[Any], *, expires_at: float
) -> CodeGrant:
    response_type = required(params, "response_type")
    if response_type != "code":
        raise OAuthError("unsupported_response_type", "only response_type=code is supported")
    scopes = (optional(params, "scope") or "").split()
    if "openid" not in scopes:
        raise OAuthError("invalid_scope", "scope must include openid")
    unknown = sorted(set(scopes) - set(SUPPORTED_SCOPES))
    if unknown:
        raise OAuthError("invalid_scope", "unsupported scope(s): " + " ".join(unknown))
    required(params, "state")
    nonce = required(params, "nonce")
    challenge = required(params, "code_challenge")
    if optional(params, "code_challenge_method") != "S256":
        raise invalid_request("code_challenge_method must be S256")
    if not PKCE_CHALLENGE.match(challenge):
        raise invalid_request("code_challenge must be a base64url SHA-256 digest (43 chars)")
    hint = optional(params, "login_hint")
    if hint is None:
        raise OAuthError("login_required", "this provider signs in the login_hint user only")
    hint = hint.strip()
    if not hint or len(hint) > MAX_LOGIN_HINT or not hint.isprintable():
        raise invalid_request("login_hint must be a printable string of at most 254 chars")
    return CodeGrant(
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scope=" ".join(scopes),
        nonce=nonce,
        code_challenge=challenge,
        subject=subject_for(hint),
        email=hint,
        name=hint.split("@", 1)[0],
        auth_time=int(time.time()),
        expires_at=expires_at,
    )


async def _form(request: web.Request) -> MultiDictProxy[Any]:
    if request.content_type != FORM:
        raise invalid_request(f"the body must be {FORM}")
    try:
        return await request.post()
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid_request(f"the body is not a valid form: {exc}") from None


def _authenticate_client(request: web.Request, form: MultiDictProxy[Any]) -> Client:
    """client_secret_basic or client_secret_post, exactly one of them (RFC 6749 §2.3)."""
    config = request.app[CONFIG]
    header = request.headers.get("Authorization")
    form_id = optional(form, "client_id")
    form_secret = optional(form, "client_secret")
    challenge: dict[str, str] = {}
    if header is not None:
        challenge = {"WWW-Authenticate": 'Basic realm="idp"'}
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            raise OAuthError("invalid_client", "unsupported authorization scheme", status=401)
        if form_secret is not None:
            raise invalid_request("use one client authentication method, not two")
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError(
                "invalid_client", "malformed basic credentials", status=401, headers=challenge
            ) from None
        raw_id, sep, raw_secret = decoded.partition(":")
        if not sep:
            raise OAuthError(
                "invalid_client", "malformed basic credentials", status=401, headers=challenge
            )
        client_id, secret = unquote_plus(raw_id), unquote_plus(raw_secret)
        if form_id is not None and form_id != client_id:
            raise invalid_request("client_id in the body differs from the authenticated client")
    else:
        if form_id is None or form_secret is None:
            raise OAuthError("invalid_client", "client authentication is required", status=401)
        client_id, secret = form_id, form_secret
    client = config.client(client_id)
    if client is None or not hmac.compare_digest(client.secret.encode(), secret.encode()):
        raise OAuthError(
            "invalid_client", "unknown client or wrong secret", status=401, headers=challenge
        )
    return client


async def token(request: web.Request) -> web.Response:
    """Exchange a code for tokens; every check failure is invalid_grant, never a hint why."""
    form = await _form(request)
    client = _authenticate_client(request, form)
    grant_type = required(form, "grant_type")
    if grant_type != "authorization_code":
        raise OAuthError("unsupported_grant_type", "only authorization_code is supported")
    code = required(form, "code")
    redirect_uri = required(form, "redirect_uri")
    verifier = required(form, "code_verifier")
    if not PKCE_VERIFIER.match(verifier):
        raise invalid_request("code_verifier must be 43-128 unreserved characters")
    grant = request.app[CODES].take(code)
    if grant is None:
        raise invalid_grant("the code is unknown, expired or already used")
    if grant.client_id != client.client_id:
        raise invalid_grant("the code was issued to another client")
    if grant.redirect_uri != redirect_uri:
        raise invalid_grant("redirect_uri differs from the authorization request")
    if not hmac.compare_digest(s256(verifier), grant.code_challenge):
        raise invalid_grant("PKCE verification failed")
    return web.json_response(_tokens(request.app, grant), headers=NO_STORE)


def _tokens(app: web.Application, grant: CodeGrant) -> dict[str, Any]:
    config, key = app[CONFIG], app[KEY]
    now = int(time.time())
    profile = {"email": grant.email, "email_verified": True, "name": grant.name}
    id_token = key.sign(
        {
            "iss": config.issuer,
            "sub": grant.subject,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + config.id_token_ttl_s,
            "auth_time": grant.auth_time,
            "nonce": grant.nonce,
            **profile,
        }
    )
    access_token = key.sign(
        {
            "iss": config.issuer,
            "sub": grant.subject,
            "aud": config.endpoint("/userinfo"),
            "client_id": grant.client_id,
            "scope": grant.scope,
            "iat": now,
            "exp": now + config.access_token_ttl_s,
            **profile,
        }
    )
    return {
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": config.access_token_ttl_s,
        "id_token": id_token,
        "scope": grant.scope,
    }


async def userinfo(request: web.Request) -> web.Response:
    """Claims of the access token's user; the access token is our own RS256 JWT."""
    config, key = request.app[CONFIG], request.app[KEY]
    scheme, _, bearer = request.headers.get("Authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    if scheme.lower() != "bearer" or not bearer:
        raise OAuthError(
            "invalid_token", "a bearer token is required", status=401, headers=challenge
        )
    try:
        claims = jwt.decode(
            bearer.strip(),
            key.public_key,
            algorithms=[ALGORITHM],
            audience=config.endpoint("/userinfo"),
            issuer=config.issuer,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.InvalidTokenError as exc:
        raise OAuthError("invalid_token", str(exc), status=401, headers=challenge) from None
    return web.json_response(
        {k: claims[k] for k in ("sub", "email", "email_verified", "name") if k in claims},
        headers=NO_STORE,
    )


def create_app(
    config: IdpConfig | None = None, *, key: SigningKey | None = None
) -> web.Application:
    """The provider as an aiohttp app; routes live under the issuer's path."""
    config = config or IdpConfig()
    app = web.Application(middlewares=[oauth_error_middleware], client_max_size=64 * 1024)
    app[CONFIG] = config
    app[KEY] = key or SigningKey(config.key_bits)
    app[CODES] = CodeStore(config.code_ttl_s)
    base = config.base_path
    app.router.add_get(base + "/.well-known/openid-configuration", openid_configuration)
    app.router.add_get(base + "/jwks", jwks)
    app.router.add_get(base + "/authorize", authorize)
    app.router.add_post(base + "/authorize", authorize)
    app.router.add_post(base + "/token", token)
    app.router.add_get(base + "/userinfo", userinfo)
    app.router.add_post(base + "/userinfo", userinfo)
    app.router.add_get(base + "/healthz", healthz)
    app.router.add_get(base + "/readyz", healthz)
    return app

"""Sign-in views and the bearer-token check every protected view calls.

``/auth/login``, ``/auth/callback``, ``/auth/refresh`` and ``/auth/logout`` read what
``service.bootstrap`` opened: ``SETTINGS``, ``DB``, ``REDIS`` and the OIDC client
(``OIDC_CLIENT``, with its pooled HTTP session). Nothing here is per process except caches:
pending sign-ins live in Redis and token keys come from settings, so a flow started on one
worker finishes on any other.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from aiohttp import web

from service.adapters.members import MemberStore
from service.adapters.oauth_state import OAuthStateStore, new_binding, valid_binding
from service.adapters.tokens import MAX_REFRESH_TOKEN_LEN, AccessTokens, TokenService
from service.bootstrap import DB, OIDC_CLIENT, REDIS, SETTINGS
from service.domain.errors import InvalidQuery, InvalidRequest, SignInFailed, Unauthorized
from service.http.parsing import read_json_object

MAX_LOGIN_HINT = 254
MAX_CODE_LEN = 2048
MAX_STATE_LEN = 256
MAX_ERROR_LEN = 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
BINDING_COOKIE = "ticketlab_signin"
# What the query parsers refuse, and the OpenAPI patterns say: control characters.
CONTROL_CHARS = "\u0000-\u001f\u007f-\u009f"
_CONTROL = re.compile(f"[{CONTROL_CHARS}]")


MEMBER = web.RequestKey("member_id", int)  # the request's member, once its token was verified


async def current_member(request: web.Request) -> int:
    """The member id of the request's valid bearer token; Unauthorized (401) otherwise.
    Verified once a request: the rate limit's member bucket may have done it already."""
    member_id = request.get(MEMBER)
    return member_id if member_id is not None else verify_bearer(request)


def verify_bearer(request: web.Request) -> int:
    """Verify the request's bearer token and remember its member; Unauthorized if bad."""
    header = request.headers.get("Authorization")
    if not header:
        raise Unauthorized("an 'Authorization: Bearer <token>' header is required")
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("the Authorization header must be 'Bearer <token>'")
    member_id = AccessTokens(request.app[SETTINGS]).verify(token)
    request[MEMBER] = member_id
    return member_id


def _states(request: web.Request) -> OAuthStateStore:
    return OAuthStateStore(request.app[REDIS], request.app[SETTINGS])


def _tokens(request: web.Request) -> TokenService:
    return TokenService(request.app[SETTINGS], request.app[DB])


def _query_value(request: web.Request, name: str, *, max_len: int) -> str | None:
    values = request.query.getall(name, [])
    if len(values) > 1:
        raise InvalidQuery(f"{name} is repeated", {name: "give it once"})
    if not values or not values[0]:
        return None
    if len(values[0]) > max_len or _CONTROL.search(values[0]):
        raise InvalidQuery(
            f"{name} is not valid",
            {name: f"at most {max_len} characters, no control characters"},
        )
    return values[0]


async def login(request: web.Request) -> web.StreamResponse:
    """302 to the provider's authorize URL, with PKCE, state and nonce, bound to this browser.

    The binding is a secret in a short-lived HttpOnly, SameSite=Lax cookie scoped to the
    sign-in routes; a browser that already holds one keeps it, so sign-ins started in two
    tabs both finish.
    """
    hint = _query_value(request, "login_hint", max_len=MAX_LOGIN_HINT)
    binding = valid_binding(request.cookies.get(BINDING_COOKIE)) or new_binding()
    oidc = request.app[OIDC_CLIENT]
    url = await oidc.start_login(_states(request), hint, binding)
    response = web.Response(status=302, headers={"Location": url, **NO_STORE})
    redirect = urlsplit(oidc.redirect_uri)
    response.set_cookie(
        BINDING_COOKIE,
        binding,
        max_age=_states(request).ttl_s,
        path=posixpath.dirname(redirect.path) or "/",  # /auth: the login and the callback
        httponly=True,
        samesite="Lax",
        secure=redirect.scheme == "https",
    )
    return response


async def callback(request: web.Request) -> web.StreamResponse:
    """Finish the flow: verify, upsert the member, answer with the service's own tokens.

    Only the browser that started the sign-in may finish or cancel it (403 otherwise, and
    the state stays usable for that browser).
    """
    states = _states(request)
    state = _query_value(request, "state", max_len=MAX_STATE_LEN)
    error = _query_value(request, "error", max_len=MAX_ERROR_LEN)
    description = _query_value(request, "error_description", max_len=MAX_ERROR_LEN)
    code = _query_value(request, "code", max_len=MAX_CODE_LEN)
    binding = valid_binding(request.cookies.get(BINDING_COOKIE))
    if error is not None:
        if state is not None:
            await states.take(state, binding)  # a refused flow cannot be resumed
        raise SignInFailed(
            f"the identity provider refused the sign-in: {error}"
            + (f" ({description})" if description else "")
        )
    missing = {name: "required" for name, value in (("code", code), ("state", state)) if not value}
    if code is None or state is None:
        raise InvalidQuery("the callback needs code and state", missing)
    identity = await request.app[OIDC_CLIENT].finish_login(states, code, state, binding)
    member_id = await MemberStore(request.app[DB]).upsert(identity)
    pair = await _tokens(request).issue(member_id)
    return web.json_response(pair.as_json(), headers=NO_STORE)


async def _refresh_token_from_body(request: web.Request) -> str:
    """The refresh token from a ``{"refresh_token": "..."}`` body.

    Unreadable bodies go through the shared reader (a 400 ``malformed-json`` problem), so
    the auth routes refuse deep nesting and huge numbers exactly as the booking routes do.
    """
    body = await read_json_object(request)
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise InvalidRequest(
            "refresh_token is required and must be a string", {"refresh_token": "a string"}
        )
    if len(token) > MAX_REFRESH_TOKEN_LEN:
        raise InvalidRequest("refresh_token is too long", {"refresh_token": "too long"})
    return token


async def refresh(request: web.Request) -> web.StreamResponse:
    """A new pair for a valid refresh token; the old one is used up."""
    token = await _refresh_token_from_body(request)
    pair = await _tokens(request).refresh(token)
    return web.json_response(pair.as_json(), headers=NO_STORE)


async def logout(request: web.Request) -> web.StreamResponse:
    """Revoke the refresh token's family: every token of that sign-in stops working."""
    token = await _refresh_token_from_body(request)
    await _tokens(request).logout(token)
    return web.Response(status=204, headers=NO_STORE)

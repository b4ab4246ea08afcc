"""OpenID Connect relying party: authorization code flow with PKCE, state and nonce.

The provider is found through its discovery document (cached per process: every worker
fetches the same document, so nothing here has to be shared). The browser carries only
``state``; the PKCE verifier and the nonce wait in Redis (``oauth_state``), so the flow
can end on any worker. Every call to the provider has a timeout: a provider that is down
or slow is answered with ``ProviderUnavailable`` (a 503/502 problem), never a hang.

The id_token is checked as OIDC Core §3.1.3.7 asks: RS256 only (the algorithm is pinned,
never read from the token), a key from the provider's JWKS, ``iss`` equal to the
discovered issuer, ``aud`` our client id, ``exp``/``iat``, and our nonce.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from base64 import b64encode, urlsafe_b64encode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import jwt
from yarl import URL

from service.adapters.oauth_state import OAuthStateStore, PendingLogin, new_state
from service.adapters.tokens import jwt_failure_reason
from service.config import Settings
from service.domain.errors import ProviderUnavailable, SignInFailed, Unauthorized

log = logging.getLogger(__name__)

CALLBACK_PATH = "/auth/callback"
ID_TOKEN_ALGORITHM = "RS256"
DEFAULT_TIMEOUT = aiohttp.ClientTimeout(total=5, connect=2)
METADATA_TTL_S = 3600.0
JWKS_TTL_S = 3600.0
JWKS_MIN_REFRESH_S = 5.0  # an unknown kid may mean rotation; re-fetch, but not on every token
ID_TOKEN_LEEWAY_S = 30
MAX_CLAIM_LEN = 255  # the members columns


def unavailable(detail: str, *, why: str = "") -> ProviderUnavailable:
    """The provider could not be reached, or answered 5xx: a 503 for the client.

    ``detail`` goes to the client, which may be anyone, so it names the trouble and
    nothing more; the addresses and exception texts of ``why`` go to the log, where the
    request id ties them to the answer.
    """
    if why:
        log.warning("identity provider: %s (%s)", detail, why)
    return ProviderUnavailable(detail, provider="identity")


def misbehaved(detail: str, *, why: str = "") -> ProviderUnavailable:
    """The provider answered something unusable: a 502 for the client (see ``unavailable``)."""
    if why:
        log.warning("identity provider: %s (%s)", detail, why)
    return ProviderUnavailable(detail, provider="identity", answered=True)


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    token_auth_methods: tuple[str, ...]

    @classmethod
    def from_document(cls, doc: Any, expected_issuer: str) -> ProviderMetadata:
        if not isinstance(doc, dict):
            raise misbehaved("discovery document is not a JSON object")
        issuer = doc.get("issuer")
        if not isinstance(issuer, str) or issuer.rstrip("/") != expected_issuer.rstrip("/"):
            raise misbehaved(
                "discovery document names another issuer",
                why=f"issuer {issuer!r}, expected {expected_issuer!r}",
            )
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = doc.get(name)
            if not isinstance(value, str) or urlsplit(value).scheme not in ("http", "https"):
                raise misbehaved(f"discovery document lacks a valid {name}")
            endpoints[name] = value
        methods = doc.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        if not isinstance(methods, list):
            methods = ["client_secret_basic"]
        return cls(
            issuer=issuer,
            token_auth_methods=tuple(m for m in methods if isinstance(m, str)),
            **endpoints,
        )


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in: (issuer, subject) is the member's stable key."""

    issuer: str
    subject: str
    email: str | None
    name: str | None


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def basic_credentials(client_id: str, secret: str) -> str:
    """client_secret_basic; RFC 6749 §2.3.1 form-encodes both parts before base64."""
    pair = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    return "Basic " + b64encode(pair.encode("ascii")).decode("ascii")


def _text_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value[:MAX_CLAIM_LEN] if isinstance(value, str) and value else None


class OidcClient:
    """One per process; holds the pooled HTTP session and the provider's cached documents."""

    def __init__(
        self,
        settings: Settings,
        session: aiohttp.ClientSession,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.session = session
        self._clock = clock
        self._metadata: ProviderMetadata | None = None
        self._metadata_until = 0.0
        self._metadata_lock = asyncio.Lock()
        self._jwks: dict[str | None, jwt.PyJWK] = {}
        self._jwks_fetched_at: float | None = None
        self._jwks_lock = asyncio.Lock()

    @property
    def redirect_uri(self) -> str:
        return self.settings.public_url.rstrip("/") + CALLBACK_PATH

    # -- the flow -------------------------------------------------------------------------

    async def start_login(
        self, states: OAuthStateStore, login_hint: str | None, binding: str
    ) -> str:
        """Remember a fresh verifier and nonce under a new state, bound to the browser's
        ``binding``; the URL to send the user to."""
        metadata = await self.metadata()  # fail before storing anything if the IdP is down
        pending = PendingLogin.new(self.redirect_uri, binding)
        state = new_state()
        await states.put(state, pending)
        query = {
            "response_type": "code",
            "client_id": self.settings.oidc_client_id,
            "redirect_uri": pending.redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": pending.nonce,
            "code_challenge": pkce_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
        }
        if login_hint:
            query["login_hint"] = login_hint
        return str(URL(metadata.authorization_endpoint).update_query(query))

    async def finish_login(
        self, states: OAuthStateStore, code: str, state: str, binding: str | None
    ) -> Identity:
        """Take the state (once, and only for the browser that started it: ``binding``),
        exchange the code, verify the id_token."""
        pending = await states.take(state, binding)
        if pending is None:
            raise SignInFailed("unknown, expired or already used state; start the sign-in again")
        id_token = await self.exchange_code(code, pending)
        return await self.verify_id_token(id_token, pending.nonce)

    # -- provider calls -------------------------------------------------------------------

    async def metadata(self) -> ProviderMetadata:
        if self._metadata is not None and self._clock() < self._metadata_until:
            return self._metadata
        async with self._metadata_lock:
            if self._metadata is not None and self._clock() < self._metadata_until:
                return self._metadata
            url = self.settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
            doc = await self._get_json(url, "discovery document")
            self._metadata = ProviderMetadata.from_document(doc, self.settings.oidc_issuer)
            self._metadata_until = self._clock() + METADATA_TTL_S
            return self._metadata

    async def exchange_code(self, code: str, pending: PendingLogin) -> str:
        """The id_token for ``code``; a refused code is SignInFailed, anything else 502/503."""
        metadata = await self.metadata()
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        client_id, secret = self.settings.oidc_client_id, self.settings.oidc_client_secret
        headers = {"Accept": "application/json"}
        if "client_secret_basic" in metadata.token_auth_methods:
            headers["Authorization"] = basic_credentials(client_id, secret)
        else:
            form |= {"client_id": client_id, "client_secret": secret}
        try:
            async with self.session.post(
                metadata.token_endpoint,
                data=form,
                headers=headers,
                allow_redirects=False,
            ) as resp:
                status, raw = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unavailable("token endpoint unreachable", why=repr(exc)) from None
        body = _loads(raw)
        if status == 200 and isinstance(body, dict):
            id_token = body.get("id_token")
            if not isinstance(id_token, str) or not id_token:
                raise misbehaved("token response has no id_token")
            return id_token
        error = body.get("error") if isinstance(body, dict) else None
        if status == 400 and error == "invalid_grant":
            raise SignInFailed(
                "the provider refused the authorization code (expired, used, or PKCE mismatch)"
            )
        if status >= 500:
            raise unavailable(f"token endpoint answered {status}")
        raise misbehaved(f"token endpoint answered {status} {error or ''}")

    async def verify_id_token(self, id_token: str, nonce: str) -> Identity:
        metadata = await self.metadata()
        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(f"id_token is malformed: {exc}") from None
        if header.get("alg") != ID_TOKEN_ALGORITHM:
            raise Unauthorized(f"id_token algorithm {header.get('alg')!r} is not allowed")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise Unauthorized("id_token kid is not a string")
        key = await self._signing_key(kid)
        try:
            claims = jwt.decode(
                id_token,
                key.key,
                algorithms=[ID_TOKEN_ALGORITHM],
                audience=self.settings.oidc_client_id,
                issuer=metadata.issuer,
                leeway=ID_TOKEN_LEEWAY_S,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(jwt_failure_reason(exc, "id_token")) from None
        token_nonce = claims.get("nonce")
        if not isinstance(token_nonce, str) or not hmac.compare_digest(
            token_nonce.encode(), nonce.encode()
        ):
            raise Unauthorized("id_token nonce does not match this sign-in")
        azp = claims.get("azp")
        if azp is not None and azp != self.settings.oidc_client_id:
            raise Unauthorized("id_token was issued to another party (azp)")
        subject = claims["sub"]
        if not subject or len(subject) > MAX_CLAIM_LEN:
            raise Unauthorized("id_token subject is empty or too long")
        return Identity(
            issuer=metadata.issuer,
            subject=subject,
            email=_text_claim(claims, "email"),
            name=_text_claim(claims, "name"),
        )

    # -- keys -----------------------------------------------------------------------------

    async def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        now = self._clock()
        fetched = self._jwks_fetched_at
        if fetched is None or now - fetched > JWKS_TTL_S:
            await self._refresh_jwks(fetched)
        key = self._pick_key(kid)
        fetched = self._jwks_fetched_at
        if key is None and fetched is not None and now - fetched > JWKS_MIN_REFRESH_S:
            await self._refresh_jwks(fetched)  # the provider may have rotated its key
            key = self._pick_key(kid)
        if key is None:
            raise Unauthorized("id_token is signed with a key the provider does not publish")
        return key

    def _pick_key(self, kid: str | None) -> jwt.PyJWK | None:
        if kid is not None:
            return self._jwks.get(kid)
        return next(iter(self._jwks.values())) if len(self._jwks) == 1 else None

    async def _refresh_jwks(self, seen_fetch: float | None) -> None:
        async with self._jwks_lock:
            if self._jwks_fetched_at != seen_fetch:
                return  # another task refreshed while we waited
            metadata = await self.metadata()
            doc = await self._get_json(metadata.jwks_uri, "JWKS")
            raw_keys = doc.get("keys") if isinstance(doc, dict) else None
            if not isinstance(raw_keys, list):
                raise misbehaved("JWKS has no keys array")
            keys: dict[str | None, jwt.PyJWK] = {}
            for raw in raw_keys:
                if not isinstance(raw, dict) or raw.get("kty") != "RSA":
                    continue
                if raw.get("use", "sig") != "sig" or raw.get("alg", "RS256") != "RS256":
                    continue
                try:
                    key = jwt.PyJWK(raw, algorithm=ID_TOKEN_ALGORITHM)
                except jwt.PyJWTError:
                    continue
                keys[key.key_id] = key
            self._jwks = keys
            self._jwks_fetched_at = self._clock()

    async def _get_json(self, url: str, what: str) -> Any:
        try:
            async with self.session.get(url, headers={"Accept": "application/json"}) as resp:
                status, raw = resp.status, await resp.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise unavailable(f"{what} unreachable", why=f"{url}: {exc!r}") from None
        if status != 200:
            fault = unavailable if status >= 500 else misbehaved
            raise fault(f"{what} answered {status}", why=url)
        body = _loads(raw)
        if body is None:
            raise misbehaved(f"{what} is not JSON", why=url)
        return body


def _loads(raw: bytes) -> Any:
    """The provider's JSON, or None for anything unreadable (a 502 upstream, never a 500)."""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return None

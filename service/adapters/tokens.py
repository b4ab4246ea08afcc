"""The service's own tokens: a short-lived access JWT and a rotating refresh token.

Access tokens are HS256 JWTs signed with ``jwt_secret``: every worker has the secret from
settings, so any worker verifies any token without a lookup. The algorithm list is pinned
(never taken from the token), and ``exp``, ``iss``, ``aud`` and ``sub`` are required.

Refresh tokens are opaque random strings; only their SHA-256 is stored. Each use marks the
token used and issues a new one in the same family. A used token presented again means it
was stolen (or the client is broken): the whole family is revoked, as OAuth 2.0 Security
BCP §4.14 recommends. Logout revokes the family too.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt

from service.adapters.db import Database, to_db
from service.config import Settings
from service.domain.errors import Unauthorized

ACCESS_ALGORITHM = "HS256"
ACCESS_LEEWAY_S = 5
REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
VERIFIED_CACHE_SIZE = 10_000
MAX_REFRESH_TOKEN_LEN = 256
# pyjwt >= 2.10 checks that sub is a string; older versions lack the class
_INVALID_SUBJECT: Any = getattr(jwt.exceptions, "InvalidSubjectError", ())


def jwt_failure_reason(exc: jwt.InvalidTokenError, what: str) -> str:
    """A reason a client can act on, without echoing anything the token claimed."""
    if isinstance(exc, jwt.ExpiredSignatureError):
        return f"{what} has expired"
    if isinstance(exc, jwt.InvalidAudienceError):
        return f"{what} is for another audience"
    if isinstance(exc, jwt.InvalidIssuerError):
        return f"{what} is from another issuer"
    if isinstance(exc, jwt.InvalidAlgorithmError):
        return f"{what} uses an algorithm that is not allowed"
    if isinstance(exc, jwt.InvalidSignatureError):
        return f"{what} signature does not verify"
    if isinstance(exc, jwt.MissingRequiredClaimError):
        return f"{what} lacks the {exc.claim!r} claim"
    if isinstance(exc, _INVALID_SUBJECT):
        return f"{what} subject is not a string"
    if isinstance(exc, jwt.ImmatureSignatureError):
        return f"{what} is not valid yet"
    if isinstance(exc, jwt.DecodeError):
        return f"{what} is malformed"
    return f"{what} is invalid ({type(exc).__name__})"


class AccessTokens:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def issue(self, member_id: int, *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "iss": self.settings.jwt_issuer,
            "aud": self.settings.jwt_audience,
            "sub": str(member_id),
            "iat": issued,
            "exp": issued + self.settings.access_token_ttl_s,
            "jti": secrets.token_hex(16),
        }
        return jwt.encode(claims, self.settings.jwt_secret, algorithm=ACCESS_ALGORITHM)

    def verify(self, token: str) -> int:
        """The member id in a valid token; Unauthorized (with the reason) otherwise.

        A token that verified once is remembered (``VerifiedTokens``) until its ``exp``: the
        same string under the same secret, issuer and audience verifies the same way again,
        so only the expiry is checked on a hit. Every check runs on the first sight of a
        token; a changed byte is another key and is verified in full.
        """
        key = (self.settings.jwt_secret, self.settings.jwt_issuer, self.settings.jwt_audience)
        member_id = VERIFIED.get(key, token, time.time())
        if member_id is not None:
            return member_id
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self.settings.jwt_secret,
                algorithms=[ACCESS_ALGORITHM],
                audience=self.settings.jwt_audience,
                issuer=self.settings.jwt_issuer,
                leeway=ACCESS_LEEWAY_S,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(jwt_failure_reason(exc, "access token")) from None
        subject = claims["sub"]
        if not (isinstance(subject, str) and subject.isascii() and subject.isdigit()):
            raise Unauthorized("access token subject is not a member id")
        member_id = int(subject)
        if not 0 < member_id < 2**63:
            raise Unauthorized("access token subject is not a member id")
        VERIFIED.put(key, token, member_id, int(claims["exp"]))
        return member_id


class VerifiedTokens:
    """Tokens that passed every check, by (secret, issuer, audience) and the token itself,
    with their member and ``exp``: the profile of a worker under holds showed a JWT decode
    (two per request: the rate limiter's and the view's) at 7 % of its CPU.

    Bounded (the oldest entry goes first); a hit past ``exp`` (with pyjwt's leeway) is
    refused as expired and forgotten, exactly as a full verification would refuse it.
    """

    def __init__(self, size: int = VERIFIED_CACHE_SIZE) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[tuple[str, str, str], str], tuple[int, int]] = (
            OrderedDict()
        )

    def get(self, key: tuple[str, str, str], token: str, now: float) -> int | None:
        entry = self._entries.get((key, token))
        if entry is None:
            return None
        member_id, expires = entry
        if expires <= now - ACCESS_LEEWAY_S:
            del self._entries[(key, token)]
            raise Unauthorized("access token has expired")
        return member_id

    def put(self, key: tuple[str, str, str], token: str, member_id: int, expires: int) -> None:
        self._entries[(key, token)] = (member_id, expires)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


VERIFIED = VerifiedTokens()


@dataclass(frozen=True)
class TokenPair:
    member_id: int
    access_token: str
    expires_in: int
    refresh_token: str

    def as_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "member_id": self.member_id,
        }


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenService:
    """Issues pairs, rotates refresh tokens, revokes families. Cheap to build per request."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.access = AccessTokens(settings)

    async def issue(self, member_id: int) -> TokenPair:
        """A pair for a fresh sign-in: the refresh token starts a new family."""
        now = datetime.now(UTC)
        async with self.db.transaction() as cur:
            refresh = await self._insert_refresh(cur, member_id, secrets.token_hex(16), now)
        return self._pair(member_id, refresh, now)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate: the presented token becomes used, a new one joins its family.

        A reused token revokes the family; that UPDATE must commit, so the refusal is
        raised only after the transaction has ended.
        """
        now = datetime.now(UTC)
        refusal: str | None = None
        member_id = 0
        new_token = ""
        async with self.db.transaction() as cur:
            row = await self._lock_row(cur, refresh_token)
            if row is None:
                refusal = "refresh token is not known"
            elif row["revoked_at"] is not None:
                refusal = "refresh token has been revoked"
            elif row["used_at"] is not None:
                await self._revoke_family(cur, row["family_id"], now)
                refusal = "refresh token was already used; its family is now revoked"
            elif row["expires_at"].replace(tzinfo=UTC) <= now:
                refusal = "refresh token has expired"
            else:
                await cur.execute(
                    "UPDATE refresh_tokens SET used_at = %s WHERE id = %s", (to_db(now), row["id"])
                )
                member_id = int(row["member_id"])
                new_token = await self._insert_refresh(cur, member_id, row["family_id"], now)
        if refusal is not None:
            raise Unauthorized(refusal)
        return self._pair(member_id, new_token, now)

    async def logout(self, refresh_token: str) -> None:
        """Revoke the token's family; unknown tokens are ignored (logout is idempotent)."""
        now = datetime.now(UTC)
        async with self.db.transaction() as cur:
            row = await self._lock_row(cur, refresh_token)
            if row is not None:
                await self._revoke_family(cur, row["family_id"], now)

    def _pair(self, member_id: int, refresh_token: str, now: datetime) -> TokenPair:
        return TokenPair(
            member_id=member_id,
            access_token=self.access.issue(member_id, now=now.timestamp()),
            expires_in=self.settings.access_token_ttl_s,
            refresh_token=refresh_token,
        )

    async def _lock_row(self, cur: Any, refresh_token: str) -> dict[str, Any] | None:
        if not refresh_token or len(refresh_token) > MAX_REFRESH_TOKEN_LEN:
            return None
        await cur.execute(
            "SELECT id, member_id, family_id, expires_at, used_at, revoked_at"
            " FROM refresh_tokens WHERE token_hash = %s FOR UPDATE",
            (hash_refresh_token(refresh_token),),
        )
        return await cur.fetchone()

    async def _insert_refresh(self, cur: Any, member_id: int, family_id: str, now: datetime) -> str:
        token = secrets.token_urlsafe(32)
        expires = now + timedelta(seconds=self.settings.refresh_token_ttl_s)
        await cur.execute(
            "INSERT INTO refresh_tokens (member_id, token_hash, family_id, created_at, expires_at)"
            " VALUES (%s, %s, %s, %s, %s)",
            (member_id, hash_refresh_token(token), family_id, to_db(now), to_db(expires)),
        )
        return token

    async def _revoke_family(self, cur: Any, family_id: str, now: datetime) -> None:
        await cur.execute(
            "UPDATE refresh_tokens SET revoked_at = %s WHERE family_id = %s AND revoked_at IS NULL",
            (to_db(now), family_id),
        )

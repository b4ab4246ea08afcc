"""Access JWTs: what is issued verifies, and every forgery is refused with its reason."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from service.adapters.tokens import AccessTokens
from service.config import Settings
from service.domain.errors import Unauthorized

OTHER_SECRET = "another-secret-another-secret-another-secret"


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims(settings: Settings, **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": "42",
        "iat": now,
        "exp": now + 60,
        "jti": "j",
        **overrides,
    }
    return {k: v for k, v in values.items() if v is not None}


def test_an_issued_token_verifies_to_its_member() -> None:
    tokens = AccessTokens(Settings())
    token = tokens.issue(42)
    assert tokens.verify(token) == 42
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "HS256"
    assert set(jwt.decode(token, options={"verify_signature": False})) == {
        "iss",
        "aud",
        "sub",
        "iat",
        "exp",
        "jti",
    }


def _forged(settings: Settings, case: str) -> str:
    secret = settings.jwt_secret
    if case == "expired":
        return AccessTokens(settings).issue(42, now=time.time() - settings.access_token_ttl_s - 60)
    if case == "wrong signature":
        return jwt.encode(claims(settings), OTHER_SECRET, algorithm="HS256")
    if case == "alg none":
        return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims(settings))}."
    if case == "alg HS512":
        return jwt.encode(claims(settings), secret * 2, algorithm="HS512")
    if case == "wrong audience":
        return jwt.encode(claims(settings, aud="someone-else"), secret, algorithm="HS256")
    if case == "wrong issuer":
        return jwt.encode(claims(settings, iss="someone-else"), secret, algorithm="HS256")
    if case == "no exp":
        return jwt.encode(claims(settings, exp=None), secret, algorithm="HS256")
    if case == "no sub":
        return jwt.encode(claims(settings, sub=None), secret, algorithm="HS256")
    if case == "sub not a member id":
        return jwt.encode(claims(settings, sub="alice"), secret, algorithm="HS256")
    if case == "sub not a string":
        return jwt.encode(claims(settings, sub=42), secret, algorithm="HS256")
    if case == "garbage":
        return "not.a.jwt"
    raise AssertionError(case)


FORGERIES = [
    ("expired", "expired"),
    ("wrong signature", "signature"),
    ("alg none", "algorithm"),
    ("alg HS512", "algorithm"),
    ("wrong audience", "audience"),
    ("wrong issuer", "issuer"),
    ("no exp", "'exp'"),
    ("no sub", "'sub'"),
    ("sub not a member id", "member id"),
    ("sub not a string", "subject"),
    ("garbage", "malformed"),
]


@pytest.mark.parametrize(("case", "reason"), FORGERIES)
def test_forged_or_stale_tokens_are_refused_with_a_reason(case: str, reason: str) -> None:
    settings = Settings()
    with pytest.raises(Unauthorized, match=reason):
        AccessTokens(settings).verify(_forged(settings, case))


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = AccessTokens(Settings())
    token = tokens.issue(42)
    assert tokens.verify(token) == 42  # remembered from here on
    assert tokens.verify(token) == 42
    later = time.time() + Settings().access_token_ttl_s + 60
    monkeypatch.setattr("service.adapters.tokens.time.time", lambda: later)
    with pytest.raises(Unauthorized, match="access token has expired"):
        tokens.verify(token)


def test_a_token_remembered_under_one_secret_is_refused_under_another() -> None:
    token = AccessTokens(Settings()).issue(42)
    assert AccessTokens(Settings()).verify(token) == 42
    with pytest.raises(Unauthorized, match="signature does not verify"):
        AccessTokens(Settings(jwt_secret=OTHER_SECRET)).verify(token)
    with pytest.raises(Unauthorized, match="another audience"):
        AccessTokens(Settings(jwt_audience="elsewhere")).verify(token)


def test_the_memory_of_verified_tokens_is_bounded() -> None:
    from service.adapters.tokens import VerifiedTokens

    memory = VerifiedTokens(size=2)
    key = ("secret", "iss", "aud")
    for n in range(3):
        memory.put(key, f"t{n}", n + 1, int(time.time()) + 60)
    assert len(memory) == 2
    assert memory.get(key, "t0", time.time()) is None  # the oldest went first
    assert memory.get(key, "t2", time.time()) == 3

"""Authorization codes: in memory, short-lived, single-use.

The provider is one process, so a dict is enough; service workers never see these codes
except through the token endpoint. Codes are taken out before they are checked, so a
failed attempt (wrong PKCE verifier, say) burns the code instead of allowing guesses.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CodeGrant:
    """What the authorize request established, to be re-checked at the token endpoint."""

    client_id: str
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    subject: str
    email: str
    name: str
    auth_time: int
    expires_at: float


class CodeStore:
    """Codes in insertion order; with one TTL for all, the oldest expire first."""

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self._clock = clock
        self._codes: dict[str, CodeGrant] = {}

    def __len__(self) -> int:
        return len(self._codes)

    def deadline(self) -> float:
        return self._clock() + self.ttl_s

    def put(self, grant: CodeGrant) -> str:
        self._purge()
        code = secrets.token_urlsafe(32)
        self._codes[code] = grant
        return code

    def take(self, code: str) -> CodeGrant | None:
        """The grant for ``code`` if it exists and is still fresh; either way it is gone."""
        grant = self._codes.pop(code, None)
        if grant is None or grant.expires_at <= self._clock():
            return None
        return grant

    def _purge(self) -> None:
        now = self._clock()
        while self._codes:
            oldest = next(iter(self._codes))
            if self._codes[oldest].expires_at > now:
                break
            del self._codes[oldest]

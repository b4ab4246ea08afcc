"""The identity provider's configuration: its issuer URL and the clients it trusts.

A client is registered as ``ID:SECRET:REDIRECT_URI_PREFIX``; the prefix, not an exact URI,
is matched because the lab starts services on ports it picks at run time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

DEFAULT_ISSUER = "http://127.0.0.1:9000"
DEFAULT_CLIENT = "ticketlab:ticketlab-secret:http://127.0.0.1:"


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str
    redirect_prefix: str

    @classmethod
    def parse(cls, spec: str) -> Client:
        """``ID:SECRET:PREFIX``; the prefix may itself contain ':' (it is a URL)."""
        parts = spec.split(":", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"expected ID:SECRET:REDIRECT_URI_PREFIX, got {spec!r}")
        client_id, secret, prefix = parts
        if urlsplit(prefix).scheme not in ("http", "https"):
            raise ValueError(f"redirect URI prefix must start with http:// or https://: {prefix!r}")
        return cls(client_id, secret, prefix)

    def allows_redirect(self, redirect_uri: str) -> bool:
        """Prefix match on a URL with no user info or fragment (which could redirect elsewhere)."""
        try:
            parts = urlsplit(redirect_uri)
            parts.port  # noqa: B018 - raises ValueError on a malformed port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return False
        if "@" in parts.netloc or parts.fragment or "\\" in redirect_uri:
            return False
        return redirect_uri.startswith(self.redirect_prefix)


@dataclass(frozen=True)
class IdpConfig:
    """Everything the app factory needs; times in seconds."""

    issuer: str = DEFAULT_ISSUER
    clients: tuple[Client, ...] = field(default_factory=lambda: (Client.parse(DEFAULT_CLIENT),))
    code_ttl_s: float = 60.0
    id_token_ttl_s: int = 3600
    access_token_ttl_s: int = 3600
    key_bits: int = 2048

    def __post_init__(self) -> None:
        parts = urlsplit(self.issuer)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"issuer must be an http(s) URL, got {self.issuer!r}")
        if parts.query or parts.fragment or self.issuer.endswith("/"):
            raise ValueError(
                f"issuer must have no query, fragment or trailing '/': {self.issuer!r}"
            )
        ids = [c.client_id for c in self.clients]
        if len(ids) != len(set(ids)):
            raise ValueError("client ids must be unique")

    @property
    def base_path(self) -> str:
        """Routes are served under the issuer's path, so discovery URLs resolve as published."""
        return urlsplit(self.issuer).path

    def endpoint(self, path: str) -> str:
        return self.issuer + path

    def client(self, client_id: str) -> Client | None:
        return next((c for c in self.clients if c.client_id == client_id), None)

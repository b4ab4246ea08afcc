"""The service's settings: one typed object, read once from ``TICKETLAB_*`` variables.

Every worker process builds the same object from the same environment, so nothing that
matters lives in one process only. A bad value stops start-up with a message naming the
variable, instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints
from urllib.parse import unquote, urlsplit

CLAIM_STRATEGIES = ("naive", "pessimistic", "optimistic", "conditional", "redis-lock", "redis-gate")
READ_POLICIES = ("primary",)
DEFECTS = (
    "fd-leak",
    "memory-leak",
    "pool-leak",
    "webhook-no-dedupe",
    "trust-client-amount",
    "confirm-overwrites",
)

# Public (it is in this file), so anyone can mint access tokens a service using it accepts.
DEV_JWT_SECRET = "dev-only-change-me-dev-only-change-me"


class ConfigError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


@dataclass(frozen=True)
class DatabaseUrl:
    user: str
    password: str
    host: str
    port: int
    database: str

    @classmethod
    def parse(cls, url: str, variable: str = "database URL") -> DatabaseUrl:
        parts = urlsplit(url)
        if parts.scheme not in ("mysql", "mariadb"):
            raise ConfigError(
                f"{variable}: expected mysql://user:password@host:port/db, got {url!r}"
            )
        database = parts.path.lstrip("/")
        if not database or not parts.hostname or not parts.username:
            raise ConfigError(f"{variable}: needs a user, a host and a database name, got {url!r}")
        return cls(
            user=unquote(parts.username),
            password=unquote(parts.password or ""),
            host=parts.hostname,
            port=parts.port or 3306,
            database=database,
        )

    def with_database(self, database: str) -> DatabaseUrl:
        return DatabaseUrl(self.user, self.password, self.host, self.port, database)

    def __str__(self) -> str:
        auth = self.user + (":***" if self.password else "")
        return f"mysql://{auth}@{self.host}:{self.port}/{self.database}"


def _env(name: str) -> str:
    return "TICKETLAB_" + name.upper()


@dataclass(frozen=True)
class Settings:
    """Defaults suit a developer machine with MariaDB, Redis and RabbitMQ on localhost."""

    db_url: str = "mysql://ticketlab:ticketlab@127.0.0.1:3306/ticketlab"
    replica_url: str = ""
    db_admin_url: str = "mysql://root@127.0.0.1:3306/ticketlab"
    db_pool_size: int = 20
    db_pool_timeout_s: float = 2.0
    db_jobs_pool_size: int = 8
    db_lock_wait_timeout_s: int = 3
    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_pool_size: int = 200
    redis_connect_timeout_s: float = 2.0
    redis_socket_timeout_s: float = 2.0
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    key_prefix: str = "ticketlab"
    claim_strategy: str = "conditional"
    read_policy: str = "primary"
    defects: frozenset[str] = field(default_factory=frozenset)
    hold_ttl_s: float = 900.0
    max_seats_per_hold: int = 10
    optimistic_retries: int = 3
    redis_lock_ttl_ms: int = 5000
    sweeper_enabled: bool = True
    sweeper_interval_s: float = 5.0
    sweeper_grace_s: float = 2.0
    public_url: str = "http://127.0.0.1:8080"
    jwt_secret: str = DEV_JWT_SECRET
    jwt_issuer: str = "ticketlab"
    jwt_audience: str = "ticketlab-api"
    access_token_ttl_s: int = 900
    refresh_token_ttl_s: int = 14 * 24 * 3600
    oidc_issuer: str = "http://127.0.0.1:9000"
    oidc_client_id: str = "ticketlab"
    oidc_client_secret: str = "ticketlab-secret"
    psp_url: str = "http://127.0.0.1:9100"
    psp_secret_key: str = "test_sk_ticketlab"
    psp_webhook_secret: str = ""
    psp_timeout_s: float = 5.0
    psp_pool_size: int = 100
    webhook_tolerance_s: float = 300.0
    reconciler_enabled: bool = True
    reconciler_interval_s: float = 5.0
    reconciler_grace_s: float = 15.0
    outbox_relay_enabled: bool = True
    outbox_relay_interval_s: float = 0.5
    outbox_relay_batch: int = 50
    outbox_relay_max_backoff_s: float = 5.0
    event_consumer_enabled: bool = True
    max_body_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if self.claim_strategy not in CLAIM_STRATEGIES:
            raise ConfigError(
                f"{_env('claim_strategy')}={self.claim_strategy!r} is not one of "
                + ", ".join(CLAIM_STRATEGIES)
            )
        if self.read_policy not in READ_POLICIES:
            raise ConfigError(
                f"{_env('read_policy')}={self.read_policy!r} is not one of "
                + ", ".join(READ_POLICIES)
            )
        unknown = sorted(self.defects - set(DEFECTS))
        if unknown:
            raise ConfigError(
                f"{_env('defects')}: unknown defect(s) {', '.join(unknown)}; known: "
                + ", ".join(DEFECTS)
            )
        if self.hold_ttl_s <= 0:
            raise ConfigError(f"{_env('hold_ttl_s')} must be positive, got {self.hold_ttl_s}")
        if self.psp_timeout_s <= 0:
            raise ConfigError(f"{_env('psp_timeout_s')} must be positive")
        for name in ("redis_connect_timeout_s", "redis_socket_timeout_s"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{_env(name)} must be positive")
        if self.reconciler_interval_s <= 0:
            raise ConfigError(f"{_env('reconciler_interval_s')} must be positive")
        if self.db_pool_size < 1:
            raise ConfigError(f"{_env('db_pool_size')} must be at least 1")
        if self.db_jobs_pool_size < 1:
            raise ConfigError(f"{_env('db_jobs_pool_size')} must be at least 1")
        if self.outbox_relay_interval_s <= 0 or self.outbox_relay_max_backoff_s <= 0:
            raise ConfigError(
                f"{_env('outbox_relay_interval_s')} and {_env('outbox_relay_max_backoff_s')}"
                " must be positive"
            )
        if self.outbox_relay_batch < 1:
            raise ConfigError(f"{_env('outbox_relay_batch')} must be at least 1")
        if not self.key_prefix or ":" in self.key_prefix:
            raise ConfigError(f"{_env('key_prefix')} must be non-empty and contain no ':'")
        DatabaseUrl.parse(self.db_url, _env("db_url"))
        DatabaseUrl.parse(self.db_admin_url, _env("db_admin_url"))
        if self.replica_url:
            DatabaseUrl.parse(self.replica_url, _env("replica_url"))

    @property
    def db(self) -> DatabaseUrl:
        return DatabaseUrl.parse(self.db_url)

    @property
    def replica(self) -> DatabaseUrl:
        return DatabaseUrl.parse(self.replica_url or self.db_url)

    @property
    def db_admin(self) -> DatabaseUrl:
        return DatabaseUrl.parse(self.db_admin_url).with_database(self.db.database)

    @property
    def webhook_signing_secret(self) -> str:
        """Without a separate webhook secret the provider signs with the secret key."""
        return self.psp_webhook_secret or self.psp_secret_key

    def check_for_serving(self) -> str | None:
        """A warning to log before serving, or ``ConfigError`` if serving would be unsafe.

        The default JWT secret is public, so anyone could forge access tokens. That is
        harmless while sign-in goes to a provider on this machine (development, tests, the
        lab), so it is only a warning there; with a real identity provider it means a real
        deployment that forgot ``TICKETLAB_JWT_SECRET``, and start-up is refused.
        Only ``serve`` calls this: ``migrate`` and ``seed`` never issue or check tokens.
        """
        if self.jwt_secret != DEV_JWT_SECRET:
            return None
        variable = _env("jwt_secret")
        if not is_loopback_url(self.oidc_issuer):
            raise ConfigError(
                f"{variable} is the public development default, so anyone could forge access "
                f"tokens, and {_env('oidc_issuer')}={self.oidc_issuer!r} is not on this "
                f"machine: refusing to serve; set {variable} to a long random secret"
            )
        return (
            f"{variable} is the public development default: anyone can forge access tokens; "
            "acceptable on a developer machine only, set it anywhere else"
        )

    def has_defect(self, name: str) -> bool:
        return name in self.defects

    def key(self, *parts: object) -> str:
        """A Redis key or broker name under this deployment's prefix."""
        return ":".join([self.key_prefix, *map(str, parts)])

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        environ = os.environ if environ is None else environ
        hints = get_type_hints(cls)
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(_env(f.name))
            if raw is None:
                continue
            values[f.name] = _convert(_env(f.name), raw, hints[f.name])
        values.update(overrides)
        return cls(**values)

    @classmethod
    def documented(cls) -> list[tuple[str, str]]:
        """(variable, default) pairs, for the README's settings table."""
        out = []
        defaults = cls()
        for f in fields(cls):
            value = getattr(defaults, f.name)
            if isinstance(value, frozenset):
                value = ",".join(sorted(value))
            out.append((_env(f.name), str(value)))
        return out


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    Anything unparseable or without a host counts as not loopback, so doubt refuses.
    """
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    if not host:
        return False
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _convert(variable: str, raw: str, kind: Any) -> Any:
    text = raw.strip()
    try:
        if kind is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind is int:
            return int(text)
        if kind is float:
            return float(text)
        if kind == frozenset[str]:
            return frozenset(p.strip() for p in text.split(",") if p.strip())
    except ValueError:
        kind_name = getattr(kind, "__name__", kind)
        raise ConfigError(f"{variable}={raw!r} is not a valid {kind_name}") from None
    return text

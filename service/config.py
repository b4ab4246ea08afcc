"""The service's settings: one typed object, read once from ``TICKETLAB_*`` variables.

Every worker process builds the same object from the same environment, so nothing that
matters lives in one process only. A bad value stops start-up with a message naming the
variable, instead of surfacing later as a confusing runtime error.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, get_type_hints
from urllib.parse import unquote, urlsplit

from service.urls import MASK, is_loopback_host, is_loopback_url, without_password

CLAIM_STRATEGIES = ("naive", "pessimistic", "optimistic", "conditional", "redis-lock", "redis-gate")
READ_POLICIES = ("primary", "replica", "bounded-staleness", "read-your-writes")
EVENT_LOOPS = ("asyncio", "uvloop")
DB_DRIVERS = ("aiomysql", "asyncmy")
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
# The payment provider's public test key: anyone could sign webhooks a service using it accepts.
PUBLIC_PSP_TEST_KEY = "test_sk_ticketlab"


# Limits per client address. Where every request comes from one address (the lab's load
# generator, the tests) they would count all buyers as one client: switch them off there.
PER_CLIENT_RATE_LIMITS = (
    "rate_limit_signin_per_client",
    "rate_limit_refresh_per_client",
    "rate_limit_holds_per_client",
    "rate_limit_confirm_per_client",
)
NO_CLIENT_RATE_LIMITS = dict.fromkeys(PER_CLIENT_RATE_LIMITS, 0)

# Settings whose values are secrets: written down anywhere, they are masked.
SECRET_FIELDS = frozenset(
    {"jwt_secret", "oidc_client_secret", "psp_secret_key", "psp_webhook_secret"}
)


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
    db_driver: str = "asyncmy"  # the faster in nox -s bench (README); suite green on both
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
    max_staleness_ms: int = 1000
    read_wait_timeout_s: float = 1.0
    read_model: bool = True
    read_model_max_age_ms: int = 100
    event_loop: str = "asyncio"
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
    psp_secret_key: str = PUBLIC_PSP_TEST_KEY
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
    worker_restarts_per_minute: int = 10
    rate_limit_window_s: float = 60.0
    rate_limit_signin_per_client: int = 60
    rate_limit_refresh_per_client: int = 60
    rate_limit_holds_per_client: int = 600
    rate_limit_holds_per_member: int = 300
    rate_limit_confirm_per_client: int = 300
    rate_limit_confirm_per_member: int = 60
    signin_ttl_s: int = 600
    signin_pending_max: int = 10_000

    def __post_init__(self) -> None:
        if self.claim_strategy not in CLAIM_STRATEGIES:
            raise ConfigError(
                f"{_env('claim_strategy')}={self.claim_strategy!r} is not one of "
                + ", ".join(CLAIM_STRATEGIES)
            )
        if self.db_driver not in DB_DRIVERS:
            raise ConfigError(
                f"{_env('db_driver')}={self.db_driver!r} is not one of " + ", ".join(DB_DRIVERS)
            )
        if self.read_policy not in READ_POLICIES:
            raise ConfigError(
                f"{_env('read_policy')}={self.read_policy!r} is not one of "
                + ", ".join(READ_POLICIES)
            )
        if self.max_staleness_ms < 0:
            raise ConfigError(f"{_env('max_staleness_ms')} must be 0 or more")
        if self.read_wait_timeout_s < 0:
            raise ConfigError(f"{_env('read_wait_timeout_s')} must be 0 or more")
        unknown = sorted(self.defects - set(DEFECTS))
        if unknown:
            raise ConfigError(
                f"{_env('defects')}: unknown defect(s) {', '.join(unknown)}; known: "
                + ", ".join(DEFECTS)
            )
        if self.event_loop not in EVENT_LOOPS:
            raise ConfigError(
                f"{_env('event_loop')}={self.event_loop!r} is not one of " + ", ".join(EVENT_LOOPS)
            )
        if self.read_model_max_age_ms < 0:
            raise ConfigError(
                f"{_env('read_model_max_age_ms')} must be 0 (check every read) or more"
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
        rate_limits = [f.name for f in fields(self) if f.name.startswith("rate_limit_")]
        for name in rate_limits:
            if getattr(self, name) < 0:
                raise ConfigError(f"{_env(name)} must be 0 (off) or more")
        if self.rate_limit_window_s <= 0:
            raise ConfigError(f"{_env('rate_limit_window_s')} must be positive")
        if self.signin_ttl_s < 1 or self.signin_pending_max < 1:
            raise ConfigError(
                f"{_env('signin_ttl_s')} and {_env('signin_pending_max')} must be at least 1"
            )
        if self.worker_restarts_per_minute < 0:
            raise ConfigError(f"{_env('worker_restarts_per_minute')} must be 0 or more")
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

    def check_for_serving(self, bind_host: str) -> list[str]:
        """Warnings to log before serving, or ``ConfigError`` if serving would be unsafe.

        The development JWT secret and the provider's public test key are in this file, so
        with either anyone could forge access tokens or payment webhooks. That is harmless
        while nothing outside this machine can reach the service (development, tests, the
        lab), so it is only a warning there. Reachable from outside — bound to a
        non-loopback address, or a public URL or identity provider off this machine, which
        means a real deployment — start-up is refused, naming what to set.
        Only ``serve`` calls this: ``migrate`` and ``seed`` never issue or check tokens.
        """
        public = self._public_secrets()
        if not public:
            return []
        exposure = self._exposure(bind_host)
        if exposure is None:
            return [
                f"{name} is public ({what}); acceptable on a developer machine only, "
                "set it anywhere else"
                for name, what in public
            ]
        named = "; ".join(f"{name} is public ({what})" for name, what in public)
        to_set = " and ".join(name for name, _ in public)
        raise ConfigError(
            f"{named}, and the service is reachable from outside this machine ({exposure}): "
            f"refusing to serve; set {to_set} to a long random secret"
        )

    def _public_secrets(self) -> list[tuple[str, str]]:
        """(variable, why it matters) for every secret whose value is published."""
        found = []
        if self.jwt_secret == DEV_JWT_SECRET:
            found.append(
                (_env("jwt_secret"), "the development default: anyone can forge access tokens")
            )
        if self.webhook_signing_secret == PUBLIC_PSP_TEST_KEY:
            variable = _env("psp_webhook_secret")
            if not self.psp_webhook_secret:
                variable += f" (unset, so {_env('psp_secret_key')})"
            found.append(
                (variable, "the provider's public test key: anyone can forge payment webhooks")
            )
        return found

    def _exposure(self, bind_host: str) -> str | None:
        """How the service is reachable from outside loopback, or None if it is not."""
        if not is_loopback_host(bind_host):
            return f"--host {bind_host}"
        for name in ("public_url", "oidc_issuer"):
            value = getattr(self, name)
            if not is_loopback_url(value):
                return f"{_env(name)}={value!r}"
        return None

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

    def public(self) -> dict[str, str]:
        """Every setting as ``TICKETLAB_*`` → text, fit to be written down.

        Run directories, reports and manifests are shared and kept; the settings they
        record must not let a reader forge tokens or webhooks or log in to a server.
        Secrets become ``***`` (an unset one stays empty, so a reader still sees which were
        given) and URLs keep their user but lose their password.
        """
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            text = ",".join(sorted(value)) if isinstance(value, frozenset) else str(value)
            if f.name in SECRET_FIELDS:
                text = MASK if text else ""
            out[_env(f.name)] = without_password(text)
        return out

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

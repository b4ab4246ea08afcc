"""The provider's settings, one typed object built by the CLI or by a test.

Webhook retry intervals are Toss's (1, 4, 16, 64, 256, 1024, 4096 minutes) multiplied by
``time_scale``, so a scenario or a test can run the whole retry path in seconds while the
schedule keeps Toss's shape.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from providers.psp.faults import Faults

TOSS_RETRY_MINUTES: tuple[float, ...] = (1, 4, 16, 64, 256, 1024, 4096)


@dataclass(frozen=True)
class PspConfig:
    host: str = "127.0.0.1"
    port: int = 9100
    webhook_url: str = ""
    secret_key: str = "test_sk_ticketlab"
    webhook_secret: str = ""
    time_scale: float = 1.0
    seed: int | None = None
    faults: Faults = field(default_factory=Faults)
    m_id: str = "tvivarepublica"
    checkout_ttl_s: float = 600.0
    keepalive_s: float = 75.0  # idle keep-alive connections closed after this
    retry_minutes: tuple[float, ...] = TOSS_RETRY_MINUTES
    delivery_timeout_s: float = 10.0
    out_of_order_hold_ms: float = 2000.0
    max_body_bytes: int = 64 * 1024

    def __post_init__(self) -> None:
        if self.time_scale <= 0:
            raise ValueError(f"time_scale must be positive, got {self.time_scale}")
        if self.checkout_ttl_s < 0:
            raise ValueError(f"checkout_ttl_s must not be negative, got {self.checkout_ttl_s}")
        if not self.secret_key:
            raise ValueError("secret_key must not be empty")
        if self.webhook_url and not self.webhook_url.startswith(("http://", "https://")):
            raise ValueError(f"webhook_url must be an http(s) URL, got {self.webhook_url!r}")

    @property
    def signing_secret(self) -> str:
        """Without a separate webhook secret, deliveries are signed with the secret key."""
        return self.webhook_secret or self.secret_key

    def retry_delays_s(self) -> list[float]:
        """Seconds to wait before attempts 2, 3, …: one per retry."""
        return [minutes * 60.0 * self.time_scale for minutes in self.retry_minutes]

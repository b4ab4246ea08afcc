"""The lab's service settings: every buyer comes from one address."""

from __future__ import annotations

from pathlib import Path

from scenarios.stack.info import StackInfo
from service.config import PER_CLIENT_RATE_LIMITS, Settings


def test_the_lab_switches_off_per_client_rate_limits_and_keeps_per_member_ones() -> None:
    stack = StackInfo(
        lab_dir=Path("/nonexistent"),
        db_url="mysql://u:p@127.0.0.1:3407/ticketlab",
        replica_url="mysql://u:p@127.0.0.1:3408/ticketlab",
        db_admin_url="mysql://root@127.0.0.1:3407/ticketlab",
        redis_url="redis://127.0.0.1:6479/0",
        amqp_url="amqp://guest:guest@127.0.0.1:5672/lab",
        parts={},
    )
    settings = stack.settings(claim_strategy="naive")
    assert all(getattr(settings, name) == 0 for name in PER_CLIENT_RATE_LIMITS)
    defaults = Settings()
    assert settings.rate_limit_holds_per_member == defaults.rate_limit_holds_per_member > 0
    assert settings.rate_limit_confirm_per_member == defaults.rate_limit_confirm_per_member > 0
    assert stack.settings(rate_limit_signin_per_client=9).rate_limit_signin_per_client == 9

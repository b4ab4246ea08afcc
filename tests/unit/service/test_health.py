"""Readiness says which dependency is down, never where it is or what the driver said."""

from __future__ import annotations

import logging

import pytest

from service.http.health import run_check


async def test_a_check_that_passes_is_ok() -> None:
    async def answers() -> None:
        return None

    assert await run_check("redis", answers) == "ok"


async def test_a_failing_check_names_no_address_and_logs_the_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def refused() -> None:
        raise ConnectionRefusedError(111, "Connect call failed ('10.1.2.3', 6379)")

    with caplog.at_level(logging.WARNING, logger="service.http.health"):
        answer = await run_check("redis", refused)

    assert answer == "unavailable"
    assert "10.1.2.3" in caplog.text and "redis" in caplog.text

"""The unit tier runs with no MariaDB, Redis or RabbitMQ: asking for one is a mistake here."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def isolation() -> None:
    pytest.fail("a unit test asked for a real server; it belongs in tests/integration")

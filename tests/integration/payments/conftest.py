"""What every payments test module shares: one HTTP session, a real payment provider,
and faults cleared after each test.

The provider delivers its webhooks to the port the module's service will listen on
(``service_port``); a module whose payments must settle through queries alone sets
``WEBHOOKS = False`` and gets a provider without a webhook URL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from tests.support.payments import Psp, running_psp
from tests.support.processes import free_port


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
def service_port() -> int:
    return free_port()


@pytest.fixture(scope="module")
async def psp(
    request: pytest.FixtureRequest, http: aiohttp.ClientSession, service_port: int
) -> AsyncIterator[Psp]:
    webhooks = getattr(request.module, "WEBHOOKS", True)
    url = f"http://127.0.0.1:{service_port}/webhooks/psp" if webhooks else ""
    async with running_psp(http, url) as provider:
        yield provider


@pytest.fixture
async def no_faults(psp: Psp) -> AsyncIterator[None]:
    """Each test starts from a well-behaved provider, whatever the last one switched on."""
    yield
    await psp.set_faults()

"""Several worker processes on one port behave as one service."""

from __future__ import annotations

import dataclasses
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from scenarios.apps import settings_env
from service.config import Settings
from service.domain.availability import decode_compact
from tests.support.processes import free_port, running
from tests.support.signin import (
    authorize,
    bearer,
    browser,
    finish_sign_in,
    sign_in,
    start_sign_in,
)
from tests.support.waiting import wait_until, wait_until_sync

FIND_OTHER_WORKER_ATTEMPTS = 200


@pytest.fixture(scope="module")
def service(
    settings: Settings, idp_url: str, concert_id: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = settings_env(dataclasses.replace(settings, oidc_issuer=idp_url, public_url=url))
    log = tmp_path_factory.mktemp("service") / "service.log"
    args = ["-m", "service", "--port", str(port), "--workers", "2"]
    with running(args, f"{url}/readyz", log, env=env) as process:
        yield url, process


@pytest.fixture(scope="module")
def service_url(service: tuple[str, subprocess.Popen[bytes]]) -> str:
    return service[0]


async def worker_pid(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(f"{url}/healthz") as response:
        return (await response.json())["pid"]


@pytest.fixture
async def sessions() -> AsyncIterator[list[aiohttp.ClientSession]]:
    """Client sessions of one kept-alive connection each: each talks to one worker."""
    opened: list[aiohttp.ClientSession] = []
    yield opened
    for session in opened:
        await session.close()


async def session_on_other_worker(
    url: str,
    pid: int,
    opened: list[aiohttp.ClientSession],
    cookie_jar: aiohttp.abc.AbstractCookieJar | None = None,
) -> aiohttp.ClientSession:
    """A new connection that landed on another worker; with ``cookie_jar``, of the same
    browser."""
    for _ in range(FIND_OTHER_WORKER_ATTEMPTS):
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1), cookie_jar=cookie_jar
        )
        opened.append(session)
        if await worker_pid(session, url) != pid:
            return session
    raise AssertionError(f"every connection landed on worker {pid}")


async def test_a_sign_in_started_on_one_worker_finishes_on_the_other(
    service_url: str, sessions: list[aiohttp.ClientSession]
) -> None:
    first = browser(connector=aiohttp.TCPConnector(limit=1))
    sessions.append(first)
    first_pid = await worker_pid(first, service_url)
    authorize_url = await start_sign_in(first, service_url, "carol@example.com")
    assert await worker_pid(first, service_url) == first_pid
    callback_url = await authorize(first, authorize_url)

    second = await session_on_other_worker(service_url, first_pid, sessions, first.cookie_jar)
    tokens = await finish_sign_in(second, callback_url)
    assert await worker_pid(second, service_url) != first_pid

    async with first.get(f"{service_url}/api/v1/me/reservations", headers=bearer(tokens)) as r:
        assert r.status == 200


async def test_metrics_add_up_the_requests_of_every_worker(
    service_url: str, sessions: list[aiohttp.ClientSession]
) -> None:
    first = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
    sessions.append(first)
    first_pid = await worker_pid(first, service_url)
    second = await session_on_other_worker(service_url, first_pid, sessions)
    for session in (first, second):
        for _ in range(3):
            await worker_pid(session, service_url)
    async with first.get(f"{service_url}/metrics") as response:
        text = await response.text()
    line = next(
        ln
        for ln in text.splitlines()
        if ln.startswith("ticketlab_http_requests_total{")
        and 'route="/healthz"' in ln
        and 'status="200"' in ln
    )
    assert float(line.rsplit(" ", 1)[1]) >= 8


async def test_a_hold_taken_on_one_worker_shows_on_the_other_workers_seat_map(
    service_url: str, concert_id: int, sessions: list[aiohttp.ClientSession]
) -> None:
    """Each worker keeps its own read model; the zone version moves both."""
    first = browser(connector=aiohttp.TCPConnector(limit=1))
    sessions.append(first)
    first_pid = await worker_pid(first, service_url)
    tokens = await sign_in(first, service_url, "dave@example.com")
    second = await session_on_other_worker(service_url, first_pid, sessions)
    url = f"{service_url}/api/v1/concerts/{concert_id}/zones/A/seats?form=compact"
    async with second.get(url) as response:
        before = await response.json()
        etag = response.headers["ETag"]
        assert response.headers["X-Read-Source"] == "cache"
    seat = next(s["id"] for s in decode_compact(before) if s["available"])
    hold_url = f"{service_url}/api/v1/concerts/{concert_id}/holds"
    async with first.post(hold_url, json={"seat_ids": [seat]}, headers=bearer(tokens)) as r:
        assert r.status == 201

    async def shown_taken() -> bool:
        async with second.get(url, headers={"If-None-Match": etag}) as response:
            if response.status == 304:
                return False
            after = {s["id"]: s["available"] for s in decode_compact(await response.json())}
            assert int(response.headers["X-Read-Version"]) > before["version"]
            return after[seat] is False

    await wait_until(shown_taken, within=10, what="the other worker to show the hold")
    assert await worker_pid(second, service_url) != first_pid


def test_an_interrupt_stops_every_worker(
    service: tuple[str, subprocess.Popen[bytes]],
) -> None:
    _, process = service
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
    assert len(children) >= 2
    process.send_signal(signal.SIGINT)
    assert process.wait(20) == 0
    wait_until_sync(
        lambda: not [pid for pid in children if Path(f"/proc/{pid}").exists()],
        10,
        "every worker to exit with its parent",
        interval=0.05,
    )

"""The supervisor of ``python -m service --workers 2`` restarts a killed worker while the
other keeps the port answering, and gives up loudly on a worker that dies at every start."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from scenarios.apps import settings_env
from service.config import Settings
from tests.support.processes import free_port, running, worker_pids
from tests.support.waiting import wait_until

CLIENTS = 4
# Connections already queued on the killed worker's socket are reset with it; a handful.
MOST_REFUSED = 10


@dataclasses.dataclass
class Supervised:
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@pytest.fixture(scope="module")
def supervised(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Supervised]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = settings_env(dataclasses.replace(settings, public_url=url))
    log = tmp_path_factory.mktemp("supervised") / "service.log"
    args = ["-m", "service", "serve", "--port", str(port), "--workers", "2"]
    with running(args, f"{url}/readyz", log, env=env) as process:
        yield Supervised(url, process, log)


@dataclasses.dataclass
class Traffic:
    """Answers by worker pid, and requests the port refused or dropped."""

    answered: collections.Counter[int] = dataclasses.field(default_factory=collections.Counter)
    refused: int = 0


async def hit_until(url: str, stop: asyncio.Event, traffic: Traffic) -> None:
    """A client loop on fresh connections, so the kernel spreads them over the workers."""
    connector = aiohttp.TCPConnector(force_close=True)
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        while not stop.is_set():
            try:
                async with http.get(f"{url}/healthz") as response:
                    traffic.answered[(await response.json())["pid"]] += 1
            except (aiohttp.ClientConnectionError, TimeoutError):
                traffic.refused += 1
            await asyncio.sleep(0)


async def restart_count(url: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as response:
        text = await response.text()
    for line in text.splitlines():
        if line.startswith('ticketlab_worker_restarts_total{cause="SIGKILL"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_a_killed_worker_is_restarted_while_the_other_keeps_the_port_answering(
    supervised: Supervised,
) -> None:
    before = worker_pids(supervised.process.pid)
    assert len(before) == 2
    victim, survivor = before
    traffic = Traffic()
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(hit_until(supervised.url, stop, traffic)) for _ in range(CLIENTS)
    ]
    try:
        await wait_until(lambda: _answered_by_both(traffic, before), what="both workers answer")
        os.kill(victim, signal.SIGKILL)
        survivor_before_kill = traffic.answered[survivor]

        async def newcomer_answers() -> bool:
            return any(pid not in before for pid in traffic.answered)

        await wait_until(newcomer_answers, within=60, what="a restarted worker to answer")
    finally:
        stop.set()
        await asyncio.gather(*clients)

    after = worker_pids(supervised.process.pid)
    assert victim not in after and survivor in after and len(after) == 2
    assert traffic.answered[survivor] > survivor_before_kill
    assert traffic.refused <= MOST_REFUSED, traffic
    assert await restart_count(supervised.url) >= 1
    assert f"(pid {victim}) died (SIGKILL)" in supervised.log.read_text()


async def _answered_by_both(traffic: Traffic, pids: list[int]) -> bool:
    return all(traffic.answered[pid] for pid in pids)


def test_an_interrupt_stops_every_worker_including_restarted_ones(
    supervised: Supervised,
) -> None:
    workers = worker_pids(supervised.process.pid)
    assert len(workers) == 2
    supervised.process.send_signal(signal.SIGINT)
    assert supervised.process.wait(30) == 0
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


def test_a_worker_that_dies_at_every_start_makes_the_supervisor_give_up() -> None:
    env = {
        **os.environ,
        # Nothing listens there: every worker fails while opening its pool.
        "TICKETLAB_DB_URL": f"mysql://nobody:pw@127.0.0.1:{free_port()}/nothing",
        "TICKETLAB_WORKER_RESTARTS_PER_MINUTE": "2",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "service", "serve", "--port", str(free_port()), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("died (exit 1); restarting it") == 2
    giving_up = next(line for line in done.stderr.splitlines() if "giving up" in line)
    assert "TICKETLAB_WORKER_RESTARTS_PER_MINUTE=2" in giving_up

"""Liveness and readiness. Ready means every server a request needs answers right now.

Anyone may ask, so the answer says which dependency is down and nothing of where it is
or what the driver said; that goes to the log, with the request id.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable

from aiohttp import web

from service.bootstrap import AMQP, DB, REDIS

CHECK_TIMEOUT_S = 2.0
log = logging.getLogger(__name__)


async def healthz(request: web.Request) -> web.Response:
    """Alive; the pid tells which worker answered, when several share a port."""
    return web.json_response({"status": "ok", "pid": os.getpid()})


async def readyz(request: web.Request) -> web.Response:
    app = request.app
    checks: dict[str, Callable[[], Awaitable[object]]] = {
        "mariadb": lambda: app[DB].fetch_one("SELECT 1 AS ok"),
        "redis": lambda: app[REDIS].ping(),
        "rabbitmq": lambda: amqp_ready(app),
    }
    results = await asyncio.gather(*(run_check(name, check) for name, check in checks.items()))
    report = dict(zip(checks, results, strict=True))
    ready = all(result == "ok" for result in report.values())
    return web.json_response(
        {"status": "ready" if ready else "unavailable", "checks": report},
        status=200 if ready else 503,
    )


async def amqp_ready(app: web.Application) -> None:
    connection = app[AMQP]
    if connection.is_closed:
        raise ConnectionError("connection closed")
    channel = await connection.channel()
    await channel.close()


async def run_check(name: str, check: Callable[[], Awaitable[object]]) -> str:
    """``ok``, ``timed out after …s`` or ``unavailable``."""
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await check()
    except TimeoutError:
        log.warning("readiness: %s timed out after %ss", name, CHECK_TIMEOUT_S)
        return f"timed out after {CHECK_TIMEOUT_S}s"
    except Exception as exc:
        log.warning("readiness: %s is unavailable: %s: %s", name, type(exc).__name__, exc)
        return "unavailable"
    return "ok"

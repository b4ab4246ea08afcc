"""The app factory: routes, the JSON error middleware, and the provider's resources.

Resources with a lifetime — the pooled webhook session, the delivery tasks, the expiry
sweeper — are opened and closed in ``cleanup_ctx``, so a test's server and a CLI run
release them the same way and nothing outlives the app.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
from aiohttp import web

from providers.psp.config import PspConfig
from providers.psp.errors import PspError
from providers.psp.faults import FaultDice
from providers.psp.state import STATE, WEBHOOKS, PspState
from providers.psp.views import reply, routes
from providers.psp.webhooks import WebhookDispatcher

log = logging.getLogger("providers.psp")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
HTTP_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED", 413: "INVALID_REQUEST"}


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure answers ``{code, message}``; only a bug in the provider is a 500."""
    try:
        response = await handler(request)
    except PspError as err:
        response = reply(err.status, err.body())
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, "INVALID_REQUEST")
        response = reply(exc.status, {"code": code, "message": exc.reason})
    except Exception:
        log.exception("unhandled error in %s %s", request.method, request.path)
        response = reply(
            500,
            {"code": "FAILED_INTERNAL_SYSTEM_PROCESSING", "message": "Internal error."},
        )
    request_id = request.headers.get("X-Request-Id")
    if request_id and isinstance(response, web.Response):
        response.headers["X-Request-Id"] = request_id
    return response


def create_app(config: PspConfig) -> web.Application:
    app = web.Application(middlewares=[errors_as_json], client_max_size=config.max_body_bytes)
    app[STATE] = PspState(config=config, faults=config.faults, dice=FaultDice(config.seed))
    app.add_routes(routes())
    app.cleanup_ctx.append(_webhook_deliveries)
    app.cleanup_ctx.append(_expiry_sweeper)
    app.on_shutdown.append(_release_held_answers)
    return app


async def _webhook_deliveries(app: web.Application) -> AsyncIterator[None]:
    state = app[STATE]
    config = state.config
    timeout = aiohttp.ClientTimeout(
        total=config.delivery_timeout_s, connect=min(3.0, config.delivery_timeout_s)
    )
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=64)
    ) as session:
        dispatcher = WebhookDispatcher(config, session, state.dice, lambda: state.faults, state.now)
        app[WEBHOOKS] = dispatcher
        state.webhooks = dispatcher
        try:
            yield
        finally:
            await dispatcher.close()


async def _expiry_sweeper(app: web.Application) -> AsyncIterator[None]:
    """Expire unconfirmed checkouts even when nobody asks about them (webhooks must fire)."""
    state = app[STATE]
    interval = max(0.05, min(5.0, state.config.checkout_ttl_s / 4))

    async def sweep() -> None:
        while True:
            await asyncio.sleep(interval)
            state.expire_due()

    task = asyncio.create_task(sweep())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _release_held_answers(app: web.Application) -> None:
    app[STATE].closing.set()

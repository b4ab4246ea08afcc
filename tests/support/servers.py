"""The service and the identity provider as real servers, for API and end-to-end tests."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from service.config import Settings
from service.http.app import init_app
from tests.support.processes import free_port, running


@contextmanager
def identity_provider(log_dir: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with running(
        ["-m", "providers.idp", "--port", str(port), "--issuer", url],
        f"{url}/.well-known/openid-configuration",
        log_dir / "idp.log",
    ):
        yield url


@dataclass
class Service:
    url: str
    app: web.Application
    settings: Settings


@asynccontextmanager
async def started_app(app: web.Application) -> AsyncIterator[web.AppRunner]:
    """Any aiohttp app started (every ``cleanup_ctx`` entered, so its jobs run) but not
    listening; cleaned up on the way out."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        yield runner
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serving_app(app: web.Application, where: int | socket.socket) -> AsyncIterator[str]:
    """Any aiohttp app on a real port (or an already bound socket); yields its base URL."""
    async with started_app(app) as runner:
        if isinstance(where, socket.socket):
            site: web.BaseSite = web.SockSite(runner, where)
            port = where.getsockname()[1]
        else:
            site, port = web.TCPSite(runner, "127.0.0.1", where), where
        await site.start()
        yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def serving(settings: Settings, port: int | None = None) -> AsyncIterator[Service]:
    """The service in this event loop, on a real port (the OAuth callback needs a real URL)."""
    app = init_app(settings)
    async with serving_app(app, port or free_port()) as url:
        yield Service(url, app, settings)


def service_settings(base: Settings, idp_url: str, port: int, **overrides: object) -> Settings:
    import dataclasses

    return dataclasses.replace(
        base, oidc_issuer=idp_url, public_url=f"http://127.0.0.1:{port}", **overrides
    )


__all__ = [
    "Service",
    "free_port",
    "identity_provider",
    "service_settings",
    "serving",
    "serving_app",
    "started_app",
]

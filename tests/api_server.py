"""The service and the identity provider as real servers, for API and end-to-end tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

from aiohttp import web

from service.config import Settings
from service.http.app import init_app
from tests.processes import free_port, running


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


@asynccontextmanager
async def serving(settings: Settings, port: int) -> AsyncIterator[str]:
    """The app in this event loop, on a real port (the OAuth callback needs a real URL)."""
    runner = web.AppRunner(init_app(settings))
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def service_settings(base: Settings, idp_url: str, port: int, **overrides: object) -> Settings:
    import dataclasses

    return dataclasses.replace(
        base, oidc_issuer=idp_url, public_url=f"http://127.0.0.1:{port}", **overrides
    )


__all__ = ["free_port", "identity_provider", "service_settings", "serving"]

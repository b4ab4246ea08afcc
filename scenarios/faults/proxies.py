"""Proxies: a listening address, an upstream, the connections between, and their toxics.

A proxy that is not ``enabled`` is *down*: its listener is closed (new connections are
refused) and every open connection is dropped — Toxiproxy's ``down``. Enabling it binds the
same address again. A ``listen`` with port 0 gets a free port, which the proxy then keeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping
from typing import Any

from scenarios.faults.links import Link, Side
from scenarios.faults.toxics import (
    DOWNSTREAM,
    STREAMS,
    UPSTREAM,
    ApiError,
    Toxic,
    bad_request,
    parse_toxic,
    update_toxic,
)

UPSTREAM_CONNECT_TIMEOUT_S = 5.0
log = logging.getLogger("faults.proxy")


def split_address(address: str, what: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise bad_request(f"{what} must be host:port, got {address!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


class Proxy:
    def __init__(self, name: str, listen: str, upstream: str, rng: random.Random) -> None:
        split_address(listen, "listen")
        split_address(upstream, "upstream")
        self.name = name
        self.listen = listen
        self.upstream = upstream
        self.enabled = False
        self.toxics: dict[str, Toxic] = {}
        self.links: set[Link] = set()
        self.rng = rng
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "listen": self.listen,
            "upstream": self.upstream,
            "enabled": self.enabled,
            "toxics": [t.to_json() for t in self.toxics.values()],
        }

    def chain(self, stream: str) -> list[Toxic]:
        return [t for t in self.toxics.values() if t.stream == stream]

    # -- up and down ------------------------------------------------------------------------

    async def start(self) -> None:
        if self.enabled:
            return
        host, port = split_address(self.listen, "listen")
        loop = asyncio.get_running_loop()
        try:
            self._server = await loop.create_server(
                lambda: Side(UPSTREAM, on_made=self._accepted),
                host,
                port,
                reuse_address=True,
                backlog=1024,
            )
        except OSError as exc:
            message = f"{self.name}: cannot listen on {self.listen}: {exc.strerror}"
            raise ApiError(message, 500) from None
        bound = self._server.sockets[0].getsockname()
        self.listen = f"{bound[0]}:{bound[1]}"
        self.enabled = True
        log.info("proxy %s on %s → %s", self.name, self.listen, self.upstream)

    async def stop(self) -> None:
        if not self.enabled:
            return
        self.enabled = False
        if self._server is not None:
            self._server.close()
            self._server = None
        for link in list(self.links):
            link.close()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        log.info("proxy %s down", self.name)

    async def update(self, body: Mapping[str, Any]) -> None:
        listen = _text(body, "listen", self.listen)
        upstream = _text(body, "upstream", self.upstream)
        enabled = body.get("enabled", self.enabled)
        if not isinstance(enabled, bool):
            raise bad_request(f"enabled must be true or false, got {enabled!r}")
        split_address(listen, "listen")
        split_address(upstream, "upstream")
        if (listen, upstream) != (self.listen, self.upstream):
            await self.stop()
            self.listen, self.upstream = listen, upstream
        if enabled:
            await self.start()
        else:
            await self.stop()

    # -- connections ------------------------------------------------------------------------

    def _accepted(self, client: Side) -> None:
        task = asyncio.get_running_loop().create_task(self._serve(client))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _serve(self, client: Side) -> None:
        assert client.transport is not None
        host, port = split_address(self.upstream, "upstream")
        loop = asyncio.get_running_loop()
        try:
            _, upstream = await asyncio.wait_for(
                loop.create_connection(lambda: Side(DOWNSTREAM), host, port),
                UPSTREAM_CONNECT_TIMEOUT_S,
            )
        except (OSError, TimeoutError) as exc:
            log.warning("proxy %s: upstream %s unreachable: %s", self.name, self.upstream, exc)
            client.transport.abort()
            return
        if client.lost.is_set() or not self.enabled:
            upstream.transport.abort()  # type: ignore[union-attr]
            client.transport.abort()
            return
        link = Link(self.chain, client, upstream, rng=random.Random(self.rng.random()))
        self.links.add(link)
        try:
            await link.run()
        finally:
            self.links.discard(link)

    # -- toxics -----------------------------------------------------------------------------

    def add_toxic(self, body: Any) -> Toxic:
        toxic = parse_toxic(body)
        if toxic.name in self.toxics:
            raise ApiError("toxic already exists", 409)
        self.toxics[toxic.name] = toxic
        self._changed()
        return toxic

    def get_toxic(self, name: str) -> Toxic:
        try:
            return self.toxics[name]
        except KeyError:
            raise ApiError("toxic not found", 404) from None

    def update_toxic(self, name: str, body: Any) -> Toxic:
        toxic = update_toxic(self.get_toxic(name), body)
        self.toxics[name] = toxic
        self._changed()
        return toxic

    def remove_toxic(self, name: str) -> None:
        self.get_toxic(name)
        del self.toxics[name]
        self._changed()

    def reset_toxics(self) -> None:
        self.toxics.clear()
        self._changed()

    def _changed(self) -> None:
        for link in list(self.links):
            with contextlib.suppress(RuntimeError):
                link.toxics_changed()


def _text(body: Mapping[str, Any], key: str, default: str) -> str:
    value = body.get(key, default)
    if not isinstance(value, str) or not value:
        raise bad_request(f"{key} must be a non-empty string, got {value!r}")
    return value


class Collection:
    """Every proxy by name, as the API sees them."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.proxies: dict[str, Proxy] = {}
        self.rng = rng or random.Random()

    def get(self, name: str) -> Proxy:
        try:
            return self.proxies[name]
        except KeyError:
            raise ApiError("proxy not found", 404) from None

    async def create(self, body: Any) -> Proxy:
        name, listen, upstream, enabled = self._fields(body)
        if name in self.proxies:
            raise ApiError("proxy already exists", 409)
        proxy = Proxy(name, listen, upstream, self.rng)
        if enabled:
            await proxy.start()
        self.proxies[name] = proxy
        return proxy

    async def populate(self, body: Any) -> list[Proxy]:
        """Create or replace a list of proxies; one that matches (listen and upstream) stays."""
        if not isinstance(body, list):
            raise bad_request("expected a JSON array of proxies")
        entries = [self._fields(item, f" at proxy {i + 1}") for i, item in enumerate(body)]
        names = [entry[0] for entry in entries]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise bad_request(f"duplicate proxy name {duplicates[0]!r}")
        result = []
        for name, listen, upstream, enabled in entries:
            existing = self.proxies.get(name)
            if existing is not None and (existing.listen, existing.upstream) != (listen, upstream):
                await self.delete(name)
                existing = None
            if existing is None:
                existing = Proxy(name, listen, upstream, self.rng)
                self.proxies[name] = existing
            if enabled:
                await existing.start()
            else:
                await existing.stop()
            result.append(existing)
        return result

    async def delete(self, name: str) -> None:
        proxy = self.get(name)
        await proxy.stop()
        del self.proxies[name]

    async def reset(self) -> None:
        """Every proxy enabled, every toxic removed (Toxiproxy's ``POST /reset``)."""
        for proxy in self.proxies.values():
            proxy.reset_toxics()
            await proxy.start()

    async def close(self) -> None:
        for proxy in list(self.proxies.values()):
            await proxy.stop()

    @staticmethod
    def _fields(body: Any, where: str = "") -> tuple[str, str, str, bool]:
        if not isinstance(body, dict):
            raise bad_request(f"expected a JSON object{where}")
        for key in ("name", "upstream"):
            if not isinstance(body.get(key), str) or not body[key]:
                raise ApiError(f"missing required field: {key}{where}", 400)
        listen = body.get("listen") or "127.0.0.1:0"
        if not isinstance(listen, str):
            raise bad_request(f"listen must be host:port{where}, got {listen!r}")
        enabled = body.get("enabled", True)
        if not isinstance(enabled, bool):
            raise bad_request(f"enabled must be true or false{where}, got {enabled!r}")
        split_address(listen, "listen")
        split_address(body["upstream"], "upstream")
        return body["name"], listen, body["upstream"], enabled


__all__ = ["STREAMS", "Collection", "Proxy"]

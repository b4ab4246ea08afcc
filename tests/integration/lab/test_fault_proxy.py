"""The fault proxy on real sockets: an echo server behind it, each toxic observed from the
client's side, and the API answering as Toxiproxy 2.x does.

Times are only ever asserted as lower bounds (a toxic adds *at least* its delay): a busy
machine can make things slower, never faster.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import socketserver
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from scenarios.faults.api import build_app
from scenarios.faults.proxies import Collection
from tests.support.http import call
from tests.support.processes import free_port, running
from tests.support.servers import serving_app
from tests.support.waiting import wait_until


@dataclass
class Lab:
    api: str
    echo_port: int
    session: aiohttp.ClientSession
    proxies: Collection

    async def create(self, name: str = "echo", **extra: object) -> int:
        body = {"name": name, "listen": "127.0.0.1:0", "upstream": f"127.0.0.1:{self.echo_port}"}
        async with self.session.post(f"{self.api}/proxies", json={**body, **extra}) as answer:
            assert answer.status == 201, await answer.text()
            return int((await answer.json())["listen"].rsplit(":", 1)[1])

    async def toxic(self, proxy: str, **body: object) -> dict:
        async with self.session.post(f"{self.api}/proxies/{proxy}/toxics", json=body) as answer:
            assert answer.status == 200, await answer.text()
            return await answer.json()

    async def call(self, method: str, path: str, body: object = None) -> tuple[int, object]:
        reply = await call(self.session, method, f"{self.api}{path}", json=body)
        return reply.status, reply.body


async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    proxies = Collection()
    try:
        async with (
            serving_app(build_app(proxies), free_port()) as api,
            aiohttp.ClientSession() as session,
        ):
            yield Lab(api, server.sockets[0].getsockname()[1], session, proxies)
    finally:
        await proxies.close()
        server.close()


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port)


async def round_trip(port: int, payload: bytes = b"ping") -> tuple[bytes, float]:
    reader, writer = await connect(port)
    try:
        began = time.monotonic()
        writer.write(payload)
        await writer.drain()
        data = await reader.readexactly(len(payload))
        return data, time.monotonic() - began
    finally:
        writer.close()


async def read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, list[int]]:
    received, sizes = b"", []
    while data := await reader.read(65536):
        received += data
        sizes.append(len(data))
    return received, sizes


# -- toxics ----------------------------------------------------------------------------------


async def test_bytes_pass_through_unchanged_without_toxics(lab: Lab) -> None:
    port = await lab.create()
    payload = bytes(range(256)) * 1000
    data, _ = await round_trip(port, payload)
    assert data == payload


async def test_downstream_latency_delays_each_answer_by_at_least_the_latency(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="latency", attributes={"latency": 200})
    data, took = await round_trip(port)
    assert data == b"ping"
    assert took >= 0.2


async def test_upstream_and_downstream_latency_add_up(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="latency", stream="upstream", attributes={"latency": 150})
    await lab.toxic("echo", type="latency", stream="downstream", attributes={"latency": 150})
    _, took = await round_trip(port)
    assert took >= 0.3


async def test_latency_is_pipelined_so_a_stream_lags_by_it_only_once(lab: Lab) -> None:
    """Ten messages sent 50 ms apart through 300 ms of latency arrive in about 0.75 s, not
    3 s: each is held 300 ms from its own arrival (the replication-link story needs this)."""
    port = await lab.create()
    await lab.toxic("echo", type="latency", attributes={"latency": 300})
    reader, writer = await connect(port)
    try:
        began = time.monotonic()
        for _ in range(10):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.05)
        await reader.readexactly(10)
        took = time.monotonic() - began
    finally:
        writer.close()
    assert 0.3 <= took < 3.0


async def test_bandwidth_limits_the_rate(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="bandwidth", attributes={"rate": 100})  # 100 KB/s
    data, took = await round_trip(port, b"b" * 50_000)
    assert len(data) == 50_000
    assert took >= 0.45  # 50 KB at 100 KB/s, less the first slice's head start


async def test_slicer_delivers_in_small_chunks(lab: Lab) -> None:
    port = await lab.create()
    attributes = {"average_size": 100, "size_variation": 20, "delay": 5000}
    await lab.toxic("echo", type="slicer", attributes=attributes)
    reader, writer = await connect(port)
    try:
        writer.write(b"s" * 2000)
        await writer.drain()
        sizes: list[int] = []
        while sum(sizes) < 2000:
            sizes.append(len(await reader.read(65536)))
    finally:
        writer.close()
    assert sum(sizes) == 2000
    assert len(sizes) >= 8  # about 20 slices 5 ms apart; a late reader merges a few


async def test_limit_data_closes_the_connection_after_the_limit(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="limit_data", attributes={"bytes": 1000})
    reader, writer = await connect(port)
    try:
        writer.write(b"d" * 5000)
        await writer.drain()
        received, _ = await asyncio.wait_for(read_until_closed(reader), 10)
    finally:
        writer.close()
    assert received == b"d" * 1000


async def test_timeout_stalls_data_then_closes(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="timeout", attributes={"timeout": 300})
    reader, writer = await connect(port)
    try:
        began = time.monotonic()
        writer.write(b"lost")
        await writer.drain()
        received, _ = await asyncio.wait_for(read_until_closed(reader), 10)
        took = time.monotonic() - began
    finally:
        writer.close()
    assert received == b""
    assert took >= 0.3


async def test_timeout_of_zero_holds_until_removed_and_removal_closes(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="timeout", attributes={"timeout": 0})
    reader, writer = await connect(port)
    try:
        writer.write(b"lost")
        await writer.drain()
        pending = asyncio.ensure_future(read_until_closed(reader))
        await wait_until(lambda: _has_links(lab.proxies, "echo"), what="the link to be established")
        assert not pending.done()
        status, _ = await lab.call("DELETE", "/proxies/echo/toxics/timeout_downstream")
        assert status == 204
        received, _ = await asyncio.wait_for(pending, 10)
    finally:
        writer.close()
    assert received == b""


async def _has_links(proxies: Collection, name: str) -> bool:
    return bool(proxies.get(name).links)


async def test_reset_peer_resets_the_connection(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="reset_peer", attributes={"timeout": 0})
    reader, writer = await connect(port)
    try:
        writer.write(b"hello")
        await writer.drain()
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(read_until_closed(reader), 10)
    finally:
        writer.close()


async def test_slow_close_delays_the_close(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="slow_close", stream="upstream", attributes={"delay": 300})
    await lab.toxic("echo", type="slow_close", stream="downstream", attributes={"delay": 300})
    reader, writer = await connect(port)
    writer.write(b"bye")
    await writer.drain()
    assert await reader.readexactly(3) == b"bye"
    began = time.monotonic()
    writer.write_eof()
    received, _ = await asyncio.wait_for(read_until_closed(reader), 10)
    writer.close()
    assert received == b""
    assert time.monotonic() - began >= 0.3


async def test_a_toxicity_of_zero_leaves_connections_alone(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="timeout", toxicity=0.0, attributes={"timeout": 0})
    data, _ = await asyncio.wait_for(round_trip(port), 10)
    assert data == b"ping"


async def test_a_toxic_added_later_reaches_open_connections(lab: Lab) -> None:
    port = await lab.create()
    reader, writer = await connect(port)
    try:
        writer.write(b"a")
        assert await reader.readexactly(1) == b"a"
        await lab.toxic("echo", type="latency", attributes={"latency": 200})
        began = time.monotonic()
        writer.write(b"b")
        assert await reader.readexactly(1) == b"b"
        assert time.monotonic() - began >= 0.2
    finally:
        writer.close()


async def test_a_disabled_proxy_refuses_connections_and_drops_open_ones(lab: Lab) -> None:
    port = await lab.create()
    reader, writer = await connect(port)
    writer.write(b"a")
    assert await reader.readexactly(1) == b"a"
    status, body = await lab.call("POST", "/proxies/echo", {"enabled": False})
    assert (status, body["enabled"]) == (200, False)
    received, _ = await asyncio.wait_for(read_until_closed(reader), 10)
    writer.close()
    assert received == b""
    with pytest.raises(ConnectionRefusedError):
        await connect(port)


async def test_a_reenabled_proxy_listens_on_the_same_port_again(lab: Lab) -> None:
    port = await lab.create()
    await lab.call("POST", "/proxies/echo", {"enabled": False})
    status, body = await lab.call("POST", "/proxies/echo", {"enabled": True})
    assert status == 200 and body["listen"] == f"127.0.0.1:{port}"
    data, _ = await round_trip(port)
    assert data == b"ping"


async def test_reset_enables_every_proxy_and_removes_every_toxic(lab: Lab) -> None:
    port = await lab.create()
    await lab.toxic("echo", type="latency", attributes={"latency": 5000})
    await lab.call("POST", "/proxies/echo", {"enabled": False})
    status, _ = await lab.call("POST", "/reset")
    assert status == 204
    _, body = await lab.call("GET", "/proxies/echo")
    assert body["enabled"] is True and body["toxics"] == []
    data, _ = await asyncio.wait_for(round_trip(port), 3)
    assert data == b"ping"


# -- the API's shapes ------------------------------------------------------------------------


async def test_a_toxic_is_named_after_its_type_and_stream_with_toxiproxy_defaults(lab: Lab) -> None:
    await lab.create()
    toxic = await lab.toxic("echo", type="latency", attributes={"latency": 10})
    assert toxic == {
        "attributes": {"latency": 10, "jitter": 0},
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
    }
    status, listed = await lab.call("GET", "/proxies/echo/toxics")
    assert (status, listed) == (200, [toxic])


async def test_updating_a_toxic_keeps_what_the_update_does_not_name(lab: Lab) -> None:
    await lab.create()
    await lab.toxic("echo", type="latency", attributes={"latency": 10, "jitter": 5})
    status, toxic = await lab.call(
        "POST", "/proxies/echo/toxics/latency_downstream", {"attributes": {"latency": 99}}
    )
    assert status == 200
    assert toxic["attributes"] == {"latency": 99, "jitter": 5}


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"type": "latancy"}, "invalid toxic type"),
        ({"type": "latency", "stream": "sideways"}, "stream was invalid"),
        ({"type": "latency", "attributes": {"latancy": 5}}, "no attribute latancy"),
        ({"type": "latency", "attributes": {"latency": -1}}, "latency.latency"),
        ({"type": "latency", "attributes": {"latency": 1.5}}, "whole number"),
        ({"type": "latency", "toxicity": 2}, "toxicity"),
        ({"type": "slicer", "attributes": {"average_size": 10, "size_variation": 10}}, "smaller"),
    ],
)
async def test_a_bad_toxic_is_a_400_naming_the_problem(lab: Lab, body: dict, fragment: str) -> None:
    await lab.create()
    status, answer = await lab.call("POST", "/proxies/echo/toxics", body)
    assert status == 400
    assert answer["status"] == 400 and fragment in answer["error"]


async def test_unknown_proxies_and_toxics_are_404_and_duplicates_409(lab: Lab) -> None:
    await lab.create()
    assert (await lab.call("GET", "/proxies/nope"))[0] == 404
    assert (await lab.call("GET", "/proxies/echo/toxics/nope"))[0] == 404
    assert (await lab.call("DELETE", "/proxies/echo/toxics/nope"))[0] == 404
    body = {"name": "echo", "listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}
    status, answer = await lab.call("POST", "/proxies", body)
    assert (status, answer["error"]) == (409, "proxy already exists")
    await lab.toxic("echo", type="latency")
    assert (await lab.call("POST", "/proxies/echo/toxics", {"type": "latency"}))[0] == 409


async def test_a_proxy_without_upstream_is_refused_naming_the_field(lab: Lab) -> None:
    status, answer = await lab.call("POST", "/proxies", {"name": "x"})
    assert status == 400 and "upstream" in answer["error"]


async def test_populate_creates_keeps_and_replaces_proxies(lab: Lab) -> None:
    port = await lab.create("kept")
    upstream = f"127.0.0.1:{lab.echo_port}"
    body = [
        {"name": "kept", "listen": f"127.0.0.1:{port}", "upstream": upstream},
        {"name": "new", "listen": "127.0.0.1:0", "upstream": upstream, "enabled": False},
    ]
    status, answer = await lab.call("POST", "/populate", body)
    assert status == 201
    assert [(p["name"], p["enabled"]) for p in answer["proxies"]] == [
        ("kept", True),
        ("new", False),
    ]
    _, everything = await lab.call("GET", "/proxies")
    assert sorted(everything) == ["kept", "new"]


async def test_a_deleted_proxy_stops_listening(lab: Lab) -> None:
    port = await lab.create()
    status, _ = await lab.call("DELETE", "/proxies/echo")
    assert status == 204
    with pytest.raises(ConnectionRefusedError):
        await connect(port)


async def test_a_browser_cannot_drive_the_api(lab: Lab) -> None:
    headers = {"User-Agent": "Mozilla/5.0"}
    async with lab.session.post(f"{lab.api}/reset", headers=headers) as answer:
        assert answer.status == 403


async def test_version_answers_as_toxiproxy_does(lab: Lab) -> None:
    status, body = await lab.call("GET", "/version")
    assert status == 200 and body["version"].startswith("2.")


# -- a Toxiproxy client from PyPI drives the lab process ----------------------------------------


@pytest.fixture
def echo_thread() -> Iterator[int]:
    """A blocking echo server in a thread, for the synchronous client library's test."""

    class Echo(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            with contextlib.suppress(OSError):
                while data := self.request.recv(65536):
                    self.request.sendall(data)

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def sync_round_trip(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        began = time.monotonic()
        sock.sendall(b"ping")
        assert sock.recv(16) == b"ping"
        return time.monotonic() - began


def test_the_toxiproxy_python_client_drives_the_lab_process(
    tmp_path: Path, echo_thread: int
) -> None:
    from toxiproxy import Toxiproxy

    port = free_port()
    api = f"http://127.0.0.1:{port}"
    argv = ["-m", "scenarios.faults.proxy", "--listen", f"127.0.0.1:{port}"]
    with running(argv, f"{api}/version", tmp_path / "proxy.log"):
        server = Toxiproxy()
        server.update_api_consumer("127.0.0.1", port)
        assert server.running()
        proxy = server.create(upstream=f"127.0.0.1:{echo_thread}", name="echo")
        listen = int(proxy.listen.rsplit(":", 1)[1])
        assert sync_round_trip(listen) < 5

        proxy.add_toxic(type="latency", attributes={"latency": 200})
        assert list(proxy.toxics()) == ["latency_downstream"]
        assert sync_round_trip(listen) >= 0.2

        with proxy.down(), pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", listen), timeout=5)
        assert server.get_proxy("echo").enabled is True

        assert server.reset()
        assert proxy.toxics() == {}
        assert b'"version"' in server.version()
        assert proxy.destroy()
        assert server.proxies() == {}

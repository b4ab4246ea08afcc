"""One proxied connection: a client, its upstream, and two pumps between them.

Each direction (``upstream`` client→server, ``downstream`` server→client) has a reader that
stamps every chunk with its arrival time and a writer that passes it through the
direction's toxics in the order they were added, then to the other side. Reading and
writing are separate tasks so latency is *pipelined*, as in Toxiproxy: every chunk leaves
``latency`` after it arrived, so a steady stream (MariaDB's binlog to a replica) lags by
the latency instead of piling delay upon delay. With no toxic on a direction and nothing
queued, the reader writes straight through — the proxy's overhead is one read and one write.

What each toxic does (Toxiproxy 2.x semantics):
    latency     each chunk held until arrival + latency ± jitter
    bandwidth   at most ``rate`` KB/s (1 KB = 1000 bytes), in slices of 100 ms worth
    slicer      chunks cut to about ``average_size`` ± ``size_variation`` bytes, ``delay`` µs apart
    limit_data  the connection closes once ``bytes`` have passed in this direction
    timeout     data is dropped; the connection closes after ``timeout`` ms without data
                (never, for 0); removing the toxic closes the connections it held
    reset_peer  at the next data, wait ``timeout`` ms, then reset both sides (RST)
    slow_close  the close is passed on ``delay`` ms late
``toxicity`` is rolled once per connection and toxic version.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass

from scenarios.faults.toxics import DOWNSTREAM, STREAMS, UPSTREAM, Toxic

READ_SIZE = 64 * 1024
QUEUE_CHUNKS = 256
BANDWIDTH_SLICE_S = 0.1


class LinkClosed(Exception):
    """A toxic ends the connection: gracefully (FIN) or, with ``reset``, by RST."""

    def __init__(self, reset: bool = False) -> None:
        super().__init__("reset" if reset else "closed")
        self.reset = reset


@dataclass(frozen=True)
class Chunk:
    arrived: float  # time.monotonic()
    data: bytes


Chain = Callable[[str], Sequence[Toxic]]


def slices(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Cut points for Toxiproxy's slicer: halve, with variation, until pieces are small."""
    if size - average <= variation:
        return [size]
    mid = size // 2 + (rng.randrange(-variation, variation + 1) if variation else 0)
    mid = min(max(mid, 1), size - 1)
    left = slices(mid, average, variation, rng)
    right = slices(size - mid, average, variation, rng)
    return left + [mid + cut for cut in right]


class Link:
    """Client ⇄ upstream, until either side closes or a toxic ends it."""

    def __init__(
        self,
        chain: Chain,
        client: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        rng: random.Random | None = None,
    ) -> None:
        self.chain = chain
        self.rng = rng or random.Random()
        self.sides = {UPSTREAM: client, DOWNSTREAM: upstream}  # where each direction reads
        self._rolls: dict[int, bool] = {}
        self._state: dict[tuple[int, str], dict[str, float]] = {}
        self._timers: dict[int, tuple[Toxic, asyncio.TimerHandle | None]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = asyncio.Event()
        self.pipes = {s: Pipe(self, s) for s in STREAMS}

    def writer_for(self, stream: str) -> asyncio.StreamWriter:
        """Where ``stream`` delivers: upstream data goes to the server, downstream to the client."""
        return self.sides[DOWNSTREAM if stream == UPSTREAM else UPSTREAM][1]

    async def run(self) -> None:
        for pipe in self.pipes.values():
            self._tasks += [asyncio.create_task(pipe.read()), asyncio.create_task(pipe.write())]
        self.toxics_changed()
        try:
            await self._closed.wait()
        finally:
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            for _toxic, handle in self._timers.values():
                if handle is not None:
                    handle.cancel()

    # -- toxics -----------------------------------------------------------------------------

    def applies(self, toxic: Toxic) -> bool:
        if toxic.serial not in self._rolls:
            self._rolls[toxic.serial] = self.rng.random() < toxic.toxicity
        return self._rolls[toxic.serial]

    def active(self, stream: str) -> list[Toxic]:
        return [t for t in self.chain(stream) if self.applies(t)]

    def state(self, toxic: Toxic, stream: str) -> dict[str, float]:
        return self._state.setdefault((toxic.ident, stream), {})

    def toxics_changed(self) -> None:
        """Start the idle timer of each new ``timeout`` toxic; a removed one closes the link."""
        current = {t.ident: t for s in STREAMS for t in self.active(s) if t.type == "timeout"}
        for ident in list(self._timers):
            if ident not in current:
                self.close()  # Toxiproxy's timeout cleanup closes what it held
                return
        for ident, toxic in current.items():
            previous = self._timers.get(ident)
            if previous is None or previous[0].serial != toxic.serial:
                self._restart_timer(toxic)

    def data_dropped(self, toxic: Toxic) -> None:
        self._restart_timer(toxic)

    def _restart_timer(self, toxic: Toxic) -> None:
        previous = self._timers.get(toxic.ident)
        if previous is not None and previous[1] is not None:
            previous[1].cancel()
        delay_ms = toxic.attr("timeout")
        handle = None
        if delay_ms > 0:
            handle = asyncio.get_running_loop().call_later(delay_ms / 1000, self.close)
        self._timers[toxic.ident] = (toxic, handle)

    # -- closing ----------------------------------------------------------------------------

    def close(self, reset: bool = False) -> None:
        if self._closed.is_set():
            return
        for _, writer in self.sides.values():
            transport = writer.transport
            if reset:
                sock = transport.get_extra_info("socket")
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.setsockopt(
                            socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                        )
                transport.abort()
            else:
                transport.close()
        self._closed.set()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


class Pipe:
    """One direction of a link."""

    def __init__(self, link: Link, stream: str) -> None:
        self.link = link
        self.stream = stream
        self.queue: asyncio.Queue[Chunk | None] = asyncio.Queue(QUEUE_CHUNKS)
        self.idle = True

    async def read(self) -> None:
        reader = self.link.sides[self.stream][0]
        writer = self.link.writer_for(self.stream)
        try:
            while True:
                data = await reader.read(READ_SIZE)
                if not data:
                    break
                if self.idle and self.queue.empty() and not self.link.chain(self.stream):
                    writer.write(data)
                    await writer.drain()
                else:
                    await self.queue.put(Chunk(time.monotonic(), data))
        except (ConnectionError, OSError):
            pass
        await self.queue.put(None)

    async def write(self) -> None:
        writer = self.link.writer_for(self.stream)
        try:
            while True:
                self.idle = self.queue.empty()
                chunk = await self.queue.get()
                self.idle = False
                if chunk is None:
                    await self._end()
                    self.link.close()
                    return
                async for piece in self._through(self.link.active(self.stream), chunk):
                    writer.write(piece)
                    await writer.drain()
        except LinkClosed as closing:
            self.link.close(reset=closing.reset)
        except (ConnectionError, OSError):
            self.link.close()

    async def _end(self) -> None:
        """The source closed: what the toxics do with a close before it is passed on."""
        for toxic in self.link.active(self.stream):
            if toxic.type == "slow_close":
                await asyncio.sleep(toxic.attr("delay") / 1000)
            elif toxic.type == "reset_peer":
                await asyncio.sleep(toxic.attr("timeout") / 1000)
                raise LinkClosed(reset=True)

    async def _through(self, toxics: Sequence[Toxic], chunk: Chunk) -> AsyncIterator[bytes]:
        if not toxics:
            yield chunk.data
            return
        async for piece in self._apply(toxics[0], chunk):
            async for out in self._through(toxics[1:], Chunk(chunk.arrived, piece)):
                yield out

    async def _apply(self, toxic: Toxic, chunk: Chunk) -> AsyncIterator[bytes]:
        kind, data = toxic.type, chunk.data
        if kind == "latency":
            jitter = toxic.attr("jitter")
            delay = toxic.attr("latency") + (
                self.link.rng.randint(-jitter, jitter) if jitter else 0
            )
            wait = chunk.arrived + max(0, delay) / 1000 - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            yield data
        elif kind == "bandwidth":
            rate = toxic.attr("rate") * 1000  # bytes per second
            if rate <= 0:
                yield data
                return
            state = self.link.state(toxic, self.stream)
            step = max(1, int(rate * BANDWIDTH_SLICE_S))
            for start in range(0, len(data), step):
                piece = data[start : start + step]
                due = max(state.get("due", 0.0), time.monotonic()) + len(piece) / rate
                state["due"] = due
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                yield piece
        elif kind == "slicer":
            cuts = slices(
                len(data), toxic.attr("average_size"), toxic.attr("size_variation"), self.link.rng
            )
            start = 0
            for end in cuts:
                yield data[start:end]
                start = end
                await asyncio.sleep(toxic.attr("delay") / 1_000_000)
        elif kind == "limit_data":
            state = self.link.state(toxic, self.stream)
            limit = toxic.attr("bytes")
            sent = int(state.get("sent", 0))
            piece = data[: max(0, limit - sent)]
            if piece:
                state["sent"] = sent + len(piece)
                yield piece
            if state.get("sent", 0) >= limit:
                raise LinkClosed()
        elif kind == "timeout":
            self.link.data_dropped(toxic)
        elif kind == "reset_peer":
            await asyncio.sleep(toxic.attr("timeout") / 1000)
            raise LinkClosed(reset=True)
        else:  # slow_close acts only on close
            yield data

"""One proxied connection: a client, its upstream, and two pumps between them.

Each direction (``upstream`` client→server, ``downstream`` server→client) stamps every
chunk with its arrival time as it is received, and a writer task passes it through the
direction's toxics in the order they were added, then to the other side. Receiving and
writing are separate so latency is *pipelined*, as in Toxiproxy: every chunk leaves
``latency`` after it arrived, so a steady stream (MariaDB's binlog to a replica) lags by
the latency instead of piling delay upon delay. With no toxic on a direction and nothing
queued, a received chunk is written straight through from the protocol's callback — no
task switch, so a hop costs one read and one write. Back-pressure is TCP's: a side whose
peer cannot keep up stops being read (``pause_reading``) until the peer drains.

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
OTHER = {UPSTREAM: DOWNSTREAM, DOWNSTREAM: UPSTREAM}


def slices(size: int, average: int, variation: int, rng: random.Random) -> list[int]:
    """Cut points for Toxiproxy's slicer: halve, with variation, until pieces are small."""
    if size - average <= variation:
        return [size]
    mid = size // 2 + (rng.randrange(-variation, variation + 1) if variation else 0)
    mid = min(max(mid, 1), size - 1)
    left = slices(mid, average, variation, rng)
    right = slices(size - mid, average, variation, rng)
    return left + [mid + cut for cut in right]


class Side(asyncio.Protocol):
    """One socket of a link. Data read here flows in direction ``reads`` (the client's
    socket feeds ``upstream``, the server's ``downstream``)."""

    def __init__(self, reads: str, on_made: Callable[[Side], None] | None = None) -> None:
        self.reads = reads
        self.on_made = on_made
        self.link: Link | None = None
        self.transport: asyncio.Transport | None = None
        self.writable = asyncio.Event()
        self.writable.set()
        self.lost = asyncio.Event()
        self.early: list[bytes] = []  # read before the link was whole (uvloop reads at once)
        self.ended_early = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's is not a subclass
        transport.pause_reading()  # until the link is whole and runs
        if self.on_made is not None:
            self.on_made(self)

    def data_received(self, data: bytes) -> None:
        if self.link is not None:
            self.link.received(self.reads, data)
        else:
            self.early.append(data)

    def eof_received(self) -> bool:
        if self.link is not None:
            self.link.ended(self.reads)
        else:
            self.ended_early = True
        return True  # keep our write side open: the link decides when to close

    def connection_lost(self, exc: Exception | None) -> None:
        self.writable.set()
        self.lost.set()
        if self.link is not None:
            self.link.ended(self.reads)
        else:
            self.ended_early = True

    def pause_writing(self) -> None:
        self.writable.clear()
        if self.link is not None:
            self.link.source_of(self).pause_reading()

    def resume_writing(self) -> None:
        self.writable.set()
        if self.link is not None:
            self.link.source_of(self).resume_reading()


class Link:
    """Client ⇄ upstream, until either side closes or a toxic ends it."""

    def __init__(
        self, chain: Chain, client: Side, upstream: Side, rng: random.Random | None = None
    ) -> None:
        self.chain = chain
        self.rng = rng or random.Random()
        self.sides = {UPSTREAM: client, DOWNSTREAM: upstream}  # where each direction is read
        self._rolls: dict[int, bool] = {}
        self._state: dict[tuple[int, str], dict[str, float]] = {}
        self._timers: dict[int, tuple[Toxic, asyncio.TimerHandle | None]] = {}
        self._closed = asyncio.Event()
        self.pipes = {s: Pipe(self, s) for s in STREAMS}
        for side in (client, upstream):
            side.link = self

    def dest(self, stream: str) -> Side:
        """Where ``stream`` is written: upstream data to the server, downstream to the client."""
        return self.sides[OTHER[stream]]

    def source_of(self, side: Side) -> _Reading:
        """The transport whose reading feeds what ``side`` writes (to pause and resume)."""
        return _Reading(self.sides[OTHER[side.reads]])

    def received(self, stream: str, data: bytes) -> None:
        self.pipes[stream].received(data)

    def ended(self, stream: str) -> None:
        self.pipes[stream].ended()

    async def run(self) -> None:
        tasks = [asyncio.create_task(pipe.write()) for pipe in self.pipes.values()]
        self.toxics_changed()
        for stream, side in self.sides.items():
            early, side.early = side.early, []
            for data in early:
                self.received(stream, data)
            if side.ended_early:
                self.ended(stream)
            elif side.transport is not None:
                side.transport.resume_reading()
        try:
            await self._closed.wait()
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for _toxic, handle in self._timers.values():
                if handle is not None:
                    handle.cancel()
            self.close()

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
        if delay_ms > 0 and not self.closed:
            handle = asyncio.get_running_loop().call_later(delay_ms / 1000, self.close)
        self._timers[toxic.ident] = (toxic, handle)

    # -- closing ----------------------------------------------------------------------------

    def close(self, reset: bool = False) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        for side in self.sides.values():
            transport = side.transport
            if transport is None or transport.is_closing():
                continue
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

    @property
    def closed(self) -> bool:
        return self._closed.is_set()


@dataclass(frozen=True)
class _Reading:
    side: Side

    def pause_reading(self) -> None:
        if self.side.transport is not None and not self.side.transport.is_closing():
            self.side.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.side.transport is not None and not self.side.transport.is_closing():
            self.side.transport.resume_reading()


class Pipe:
    """One direction of a link."""

    def __init__(self, link: Link, stream: str) -> None:
        self.link = link
        self.stream = stream
        self.queue: asyncio.Queue[Chunk | None] = asyncio.Queue()
        self.idle = True
        self.done = False

    def received(self, data: bytes) -> None:
        dest = self.link.dest(self.stream)
        if self.idle and self.queue.empty() and not self.link.chain(self.stream):
            if dest.transport is not None and not dest.transport.is_closing():
                dest.transport.write(data)
            return
        self.queue.put_nowait(Chunk(time.monotonic(), data))
        if self.queue.qsize() >= QUEUE_CHUNKS:
            _Reading(self.link.sides[self.stream]).pause_reading()

    def ended(self) -> None:
        if not self.done:
            self.done = True
            self.queue.put_nowait(None)

    async def write(self) -> None:
        dest = self.link.dest(self.stream)
        source = _Reading(self.link.sides[self.stream])
        try:
            while True:
                self.idle = self.queue.empty()
                chunk = await self.queue.get()
                self.idle = False
                if self.queue.qsize() < QUEUE_CHUNKS // 2:
                    source.resume_reading()
                if chunk is None:
                    await self._end()
                    self.link.close()
                    return
                async for piece in self._through(self.link.active(self.stream), chunk):
                    await dest.writable.wait()
                    if dest.transport is None or dest.transport.is_closing():
                        raise LinkClosed()
                    dest.transport.write(piece)
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

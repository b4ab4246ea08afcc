"""Writing to InfluxDB 1.x in line protocol, from a run that must never wait for it.

A run's numbers are its files; InfluxDB is only where a person watches them live. So the
writer's one rule is that it never slows or breaks the run that feeds it: ``write`` appends
to a bounded in-memory buffer and returns at once (from any thread); a background thread
sends what has gathered once a second as one ``POST /write?db=…&precision=ms``, each with a
timeout. When InfluxDB is slow or gone, the buffer fills and further points are dropped and
counted, and a failed batch is counted and not retried: a live view with a gap is better
than a run held hostage. ``stats`` says how many points were written, dropped and lost, so
the run can report it.

Escaping follows the line-protocol reference (InfluxDB 1.x): in measurements, commas and
spaces are escaped; in tag keys, tag values and field keys, commas, equals signs and spaces;
string field values are double-quoted with their double quotes and backslashes escaped.
Line protocol has no newline anywhere but between points, so newlines become spaces; empty
tag values are left out (InfluxDB refuses them), as are NaN and infinite fields.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

FieldValue = float | int | bool | str
PRECISION_FACTORS = {"s": 1, "ms": 1_000, "u": 1_000_000, "ns": 1_000_000_000}
DEFAULT_DATABASE = "ticketlab"

_NEWLINES = str.maketrans({"\n": " ", "\r": " "})
_MEASUREMENT = str.maketrans({",": r"\,", " ": r"\ "})
_KEY = str.maketrans({",": r"\,", "=": r"\=", " ": r"\ "})


def escape_measurement(name: str) -> str:
    return name.translate(_NEWLINES).replace("\\", "\\\\").translate(_MEASUREMENT)


def escape_key(name: str) -> str:
    """A tag key, tag value or field key."""
    return name.translate(_NEWLINES).replace("\\", "\\\\").translate(_KEY)


def field_value(value: FieldValue) -> str | None:
    """The value as line protocol writes it, or None when it cannot be written (NaN, inf)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return f"{value}i"
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    text = str(value).translate(_NEWLINES).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'


@dataclass(frozen=True)
class Point:
    """One point: ``time`` is Unix seconds (None lets the server stamp it on arrival)."""

    measurement: str
    fields: Mapping[str, FieldValue]
    tags: Mapping[str, str] = field(default_factory=dict)
    time: float | None = None

    def line(self, precision: str = "ms") -> str | None:
        """The point in line protocol; None when no field is writable (InfluxDB needs one)."""
        fields = []
        for key, value in sorted(self.fields.items()):
            written = field_value(value)
            if written is not None:
                fields.append(f"{escape_key(key)}={written}")
        if not fields:
            return None
        tags = "".join(
            f",{escape_key(k)}={escape_key(str(v))}"
            for k, v in sorted(self.tags.items())
            if v is not None and str(v) != ""
        )
        head = f"{escape_measurement(self.measurement)}{tags} {','.join(fields)}"
        if self.time is None:
            return head
        return f"{head} {round(self.time * PRECISION_FACTORS[precision])}"


@dataclass
class WriterStats:
    written: int = 0
    dropped: int = 0  # refused because the buffer was full
    failed: int = 0  # in batches InfluxDB did not take (error, timeout, refused points)
    batches: int = 0
    last_error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "dropped": self.dropped,
            "failed": self.failed,
            "batches": self.batches,
            "last_error": self.last_error,
        }


class InfluxWriter:
    """Batches points to ``url``'s database ``database`` from a background thread.

    ``tags`` are added to every point (a run's id, scenario, variant). Use as a context
    manager, or ``start()`` then ``close()``; ``close`` sends what is left, bounded by
    ``timeout_s``.
    """

    def __init__(
        self,
        url: str,
        database: str = DEFAULT_DATABASE,
        *,
        tags: Mapping[str, str] | None = None,
        interval_s: float = 1.0,
        max_buffer: int = 20_000,
        max_batch: int = 5_000,
        timeout_s: float = 5.0,
        precision: str = "ms",
    ) -> None:
        if precision not in PRECISION_FACTORS:
            raise ValueError(f"precision {precision!r}: use one of {', '.join(PRECISION_FACTORS)}")
        self.url = url.rstrip("/")
        self.database = database
        self.tags = dict(tags or {})
        self.interval_s = interval_s
        self.max_buffer = max_buffer
        self.max_batch = max_batch
        self.timeout_s = timeout_s
        self.precision = precision
        self.stats = WriterStats()
        self._buffer: deque[str] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sending = threading.Lock()

    # -- producers (any thread) ------------------------------------------------------------

    def write(self, point: Point) -> bool:
        """Queue a point; False when it was dropped (buffer full) or had nothing to write."""
        if self.tags:
            point = Point(point.measurement, point.fields, {**self.tags, **point.tags}, point.time)
        line = point.line(self.precision)
        if line is None:
            return False
        with self._lock:
            if len(self._buffer) >= self.max_buffer:
                self.stats.dropped += 1
                return False
            self._buffer.append(line)
        return True

    def write_all(self, points: Iterable[Point]) -> int:
        return sum(self.write(p) for p in points)

    @property
    def pending(self) -> int:
        return len(self._buffer)

    # -- the sender ------------------------------------------------------------------------

    def start(self) -> InfluxWriter:
        self._thread = threading.Thread(target=self._run, name="influx-writer", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.flush()

    def flush(self, deadline: float | None = None) -> int:
        """Send what is buffered, in batches of ``max_batch``, until empty or ``deadline``
        (a ``time.monotonic()`` value); returns how many points InfluxDB took."""
        wait = -1.0 if deadline is None else max(0.0, deadline - time.monotonic())
        if not self._sending.acquire(timeout=wait):
            return 0
        written = 0
        try:
            while deadline is None or time.monotonic() < deadline:
                with self._lock:
                    count = min(len(self._buffer), self.max_batch)
                    lines = [self._buffer.popleft() for _ in range(count)]
                if not lines:
                    break
                written += self._send(lines)
        finally:
            self._sending.release()
        return written

    def _send(self, lines: list[str]) -> int:
        query = urllib.parse.urlencode({"db": self.database, "precision": self.precision})
        request = urllib.request.Request(
            f"{self.url}/write?{query}",
            data=("\n".join(lines) + "\n").encode(),
            method="POST",
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        self.stats.batches += 1
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                answer.read()
        except urllib.error.HTTPError as exc:
            body = exc.read().decode(errors="replace")[:300]
            self._failed(len(lines), f"HTTP {exc.code}: {body}")
            return 0
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            self._failed(len(lines), f"{type(exc).__name__}: {exc}")
            return 0
        self.stats.written += len(lines)
        return len(lines)

    def _failed(self, count: int, reason: str) -> None:
        if self.stats.last_error is None:
            log.warning("InfluxDB at %s refused or missed %d point(s): %s", self.url, count, reason)
        self.stats.failed += count
        self.stats.last_error = reason

    def close(self, timeout_s: float | None = None) -> WriterStats:
        """Stop the thread and send what is left, all within ``timeout_s`` (default: the
        request timeout, plus one interval); what is still unsent then counts as dropped."""
        budget = self.timeout_s + self.interval_s if timeout_s is None else timeout_s
        deadline = time.monotonic() + budget
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        self.flush(deadline)
        with self._lock:
            self.stats.dropped += len(self._buffer)
            self._buffer.clear()
        return self.stats

    def __enter__(self) -> InfluxWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- the query side, for tests, checks and the dashboard test --------------------------------


class InfluxError(RuntimeError):
    """InfluxDB answered a query with an error (the message is InfluxDB's)."""


def query(
    url: str, q: str, database: str | None = None, *, timeout_s: float = 10.0, method: str = "GET"
) -> list[dict[str, Any]]:
    """Run InfluxQL; returns the first statement's series (``name``, ``tags``, ``columns``,
    ``values``). Statements that change things (CREATE, DROP) need ``method="POST"``."""
    params = {"q": q, "epoch": "ms"}
    if database:
        params["db"] = database
    encoded = urllib.parse.urlencode(params)
    if method == "GET":
        request = urllib.request.Request(f"{url.rstrip('/')}/query?{encoded}")
    else:
        request = urllib.request.Request(
            f"{url.rstrip('/')}/query",
            data=encoded.encode(),
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as answer:
            body = json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:500]
        raise InfluxError(f"HTTP {exc.code} for {q!r}: {detail}") from exc
    results = body.get("results") or [{}]
    first = results[0]
    if "error" in first:
        raise InfluxError(f"{first['error']} (query: {q})")
    return list(first.get("series") or [])


def ensure_database(url: str, database: str = DEFAULT_DATABASE, timeout_s: float = 5.0) -> None:
    """``CREATE DATABASE`` is idempotent in InfluxDB 1.x: safe before every run."""
    query(url, f'CREATE DATABASE "{database}"', timeout_s=timeout_s, method="POST")


def drop_database(url: str, database: str, timeout_s: float = 5.0) -> None:
    query(url, f'DROP DATABASE "{database}"', timeout_s=timeout_s, method="POST")

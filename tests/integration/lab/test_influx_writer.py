"""The InfluxDB writer against a real ``influxd``: what is written reads back, batched, and a
slow or absent server costs the writer points, never the caller time."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashboards.influx import InfluxWriter, Point, query
from tests.support.influx import Influx, influx_database, influx_server
from tests.support.waiting import wait_until_sync

T0 = 1_700_000_000.0


@pytest.fixture(scope="module")
def influx(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Influx]:
    with influx_server(tmp_path_factory.mktemp("influx")) as server:
        yield server


@pytest.fixture
def database(influx: Influx) -> Iterator[str]:
    with influx_database(influx.url) as name:
        yield name


def test_points_read_back_with_awkward_names_intact(influx: Influx, database: str) -> None:
    tags = {"run": "r 1,a=b", "variant": "redis-gate"}
    with InfluxWriter(influx.url, database, tags=tags) as writer:
        writer.write(
            Point("ops", {"p95_ms": 12.5, "note": 'say "hi" \\ there'}, {"op": "hold"}, T0)
        )
    series = query(influx.url, 'SELECT "p95_ms", "note" FROM "ops" GROUP BY *', database)
    assert series[0]["tags"] == {"op": "hold", "run": "r 1,a=b", "variant": "redis-gate"}
    assert series[0]["values"] == [[T0 * 1000, 12.5, 'say "hi" \\ there']]


def test_points_written_within_a_second_go_in_one_batch(influx: Influx, database: str) -> None:
    writer = InfluxWriter(influx.url, database, interval_s=3600)
    writer.write_all(Point("ops", {"n": i}, {"op": "hold"}, T0 + i) for i in range(500))
    stats = writer.close()
    assert (stats.written, stats.batches, stats.dropped, stats.failed) == (500, 1, 0, 0)
    counted = query(influx.url, 'SELECT COUNT("n") FROM "ops"', database)
    assert counted[0]["values"][0][1] == 500


def test_the_background_thread_sends_without_being_asked(influx: Influx, database: str) -> None:
    with InfluxWriter(influx.url, database, interval_s=0.05) as writer:
        writer.write(Point("ops", {"n": 1}, {}, T0))
        wait_until_sync(lambda: writer.stats.written > 0, 10, "the writer's thread to send")
        assert writer.stats.written == 1


def test_refused_points_are_counted_as_failed(influx: Influx, database: str) -> None:
    writer = InfluxWriter(influx.url, database)
    writer.write(Point("ops", {"n": 1}, {}, T0))
    writer.write(Point("ops", {"n": "a string now"}, {}, T0 + 1))  # field type conflict
    stats = writer.close()
    assert stats.failed + stats.written == 2 and stats.failed >= 1
    assert "field type conflict" in (stats.last_error or "")


def test_an_absent_server_costs_points_not_errors(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        writer = InfluxWriter(f"http://127.0.0.1:{port}", "nowhere", interval_s=0.05)
        with writer:
            assert writer.write(Point("ops", {"n": 1}, {}, T0))
        assert writer.stats.written == 0
        assert writer.stats.failed + writer.stats.dropped == 1


def test_a_server_that_never_answers_leaves_writes_instant_and_close_bounded() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(16)  # accepts into the backlog, never reads or answers
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        writer = InfluxWriter(url, "nowhere", interval_s=0.01, timeout_s=0.5, max_buffer=50)
        writer.start()
        for i in range(200):
            writer.write(Point("ops", {"n": i}, {}, T0 + i))
        stats = writer.close(timeout_s=1.0)
    assert stats.written == 0
    assert stats.failed + stats.dropped == 200

"""The live stream's pure parts: per-second statistics, the scrape as points, Locust's user
count, and tailing files that are still being written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dashboards import schema
from scenarios.live_points import SecondStats, Tail, metric_points, resource_points, users_points


def op(name: str, end: float, latency_ms: float, outcome: str = "ok", status: int = 200) -> str:
    record = {
        "type": "op",
        "name": name,
        "intended_start": None,
        "start": end - latency_ms / 1000,
        "end": end,
        "outcome": outcome,
        "status": status,
    }
    return json.dumps(record)


def test_a_second_is_written_once_it_is_over_with_exact_percentiles() -> None:
    stats = SecondStats()
    for n in range(1, 101):
        stats.add_line(op("hold", 100.5, n))
    assert stats.take(100.9) == []  # the stream asks for seconds over SETTLE_S ago
    (point,) = stats.take(101.0)
    assert point.measurement == schema.LOAD and point.tags == {"operation": "hold"}
    assert point.time == 100.0
    percentiles = [point.fields[f"p{p}_ms"] for p in (50, 95, 99)]
    assert percentiles == pytest.approx([50.0, 95.0, 99.0])


def test_outcomes_are_counted_apart_and_cut_off_requests_stay_out_of_percentiles() -> None:
    stats = SecondStats()
    stats.add_line(op("hold", 7.1, 10))
    stats.add_line(op("hold", 7.2, 20, "fail", 409))
    stats.add_line(op("hold", 7.3, 30, "fail", 503))
    stats.add_line(op("hold", 7.4, 40, "unknown", 0))
    stats.add_line(op("hold", 7.5, 9000, "cut-off", 0))
    (point,) = stats.take()
    assert {k: point.fields[k] for k in ("requests", "ok", "refused", "errors", "unknown")} == {
        "requests": 5,
        "ok": 1,
        "refused": 1,
        "errors": 2,
        "unknown": 1,
    }
    assert point.fields["cut_off"] == 1 and point.fields["p99_ms"] == pytest.approx(40.0)


def test_a_record_for_a_second_already_written_is_counted_late_not_rewritten() -> None:
    stats = SecondStats()
    stats.add_line(op("hold", 5.5, 10))
    assert len(stats.take(10)) == 1
    stats.add_line(op("hold", 5.9, 10))
    assert stats.take() == [] and stats.late == 1


def test_faults_and_unreadable_lines_are_not_operations() -> None:
    stats = SecondStats()
    stats.add_line(json.dumps({"type": "fault", "kind": "psp-faults", "start": 1.0}))
    stats.add_line("{not json")
    assert stats.take() == [] and stats.unreadable == 1


def test_a_scrape_becomes_a_measurement_per_sample_name_with_labels_as_tags() -> None:
    record = {
        "t": 12.5,
        "samples": {
            'ticketlab_http_requests_total{method="POST",route="/api/v1/holds",status="201"}': 3.0,
            'ticketlab_http_request_seconds_bucket{le="0.1",method="GET",route="/x"}': 1.0,
            "ticketlab_db_pool_in_use": 2.0,
        },
    }
    points = {p.measurement: p for p in metric_points(record)}
    assert set(points) == {schema.HTTP_REQUESTS, schema.POOL_IN_USE}  # buckets are left out
    requests = points[schema.HTTP_REQUESTS]
    assert requests.tags == {"method": "POST", "route": "/api/v1/holds", "status": "201"}
    assert requests.fields == {"value": 3.0} and requests.time == 12.5


def test_a_failed_scrape_is_no_points() -> None:
    assert metric_points({"t": 1.0, "error": "ClientConnectorError"}) == []


def test_users_come_from_locusts_aggregated_history_rows() -> None:
    header = ["Timestamp", "User Count", "Type", "Name", "Requests/s"]
    lines = ["1700000000,40,,Aggregated,12.5", "1700000000,40,POST,hold,3.0"]
    (point,) = users_points(lines, header)
    assert (point.measurement, point.fields, point.time) == (schema.USERS, {"users": 40}, 1.7e9)


def test_tail_returns_complete_lines_once_and_waits_for_a_partial_one(tmp_path: Path) -> None:
    tail = Tail(tmp_path, "operations*.jsonl")
    part = tmp_path / "operations.part-pid1.jsonl"
    part.write_text('{"a": 1}\n{"b": ')
    assert [line for _, line in tail.read()] == ['{"a": 1}']
    with part.open("a") as out:
        out.write("2}\n")
    (tmp_path / "operations.jsonl").write_text('{"c": 3}\n')
    assert sorted(line for _, line in tail.read()) == ['{"b": 2}', '{"c": 3}']
    assert tail.read() == []


def test_a_priming_resource_sample_has_no_cpu_field() -> None:
    from profiling.sampler import Sample

    primed, measured = (
        Sample(1.0, "service", 42, None, 100, 7, 3),
        Sample(2.0, "service", 42, 12.5, 100, 7, 3),
    )
    first, second = resource_points([primed, measured])
    assert "cpu_percent" not in first.fields and second.fields["cpu_percent"] == 12.5
    assert first.tags == {"role": "service", "pid": "42"}

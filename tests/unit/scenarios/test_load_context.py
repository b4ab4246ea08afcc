"""Per-process state of the buyers: ids, seeds, arrival slots, the hot set; and the import rule."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scenarios.load.context import BUYERS_PER_PROCESS, LoadContext
from scenarios.load.recorder import Recorder
from scenarios.load.seats import SeatView
from scenarios.load.workload import parse_workload

PURE_MODULES = [
    "scenarios.load",
    "scenarios.load.workload",
    "scenarios.load.shapes",
    "scenarios.load.arrivals",
    "scenarios.load.seats",
    "scenarios.load.records",
    "scenarios.load.recorder",
    "scenarios.load.merge",
    "scenarios.load.context",
    "scenarios.load.process",
]


def context(tmp_path: Path, processes: int = 1, **fields: object) -> LoadContext:
    workload = parse_workload(
        {"service_url": "http://s", "operations_path": str(tmp_path / "ops.jsonl"), **fields}
    )
    return LoadContext(workload, Recorder(tmp_path / "ops.jsonl"), "pid1", processes)


def test_buyer_numbers_never_collide_across_processes(tmp_path: Path) -> None:
    first, second = context(tmp_path), context(tmp_path)
    a = {first.next_buyer_number(0) for _ in range(100)}
    b = {second.next_buyer_number(1) for _ in range(100)}
    assert not a & b
    assert min(b) == BUYERS_PER_PROCESS + 1


def test_each_user_has_its_own_reproducible_generator(tmp_path: Path) -> None:
    ctx = context(tmp_path, seed=5)
    assert ctx.rng_for(1).random() == context(tmp_path, seed=5).rng_for(1).random()
    assert ctx.rng_for(1).random() != ctx.rng_for(2).random()


def test_a_multiprocess_context_writes_its_own_part(tmp_path: Path) -> None:
    workload = parse_workload(
        {"service_url": "http://s", "operations_path": str(tmp_path / "o.jsonl")}
    )
    single = LoadContext.for_process(workload, processes=None)
    multi = LoadContext.for_process(workload, processes=4)
    assert single.recorder.path == tmp_path / "o.jsonl"
    assert multi.recorder.path.name.startswith("o.part-pid") and multi.processes == 4


def test_arrival_slots_start_when_first_asked_and_are_shared_by_the_pool(tmp_path: Path) -> None:
    ctx = context(
        tmp_path,
        processes=2,
        shape={"kind": "arrival", "rate_per_s": 10, "users": 5, "duration_s": 60},
    )
    ctx.clock = lambda: 500.0
    assert ctx.open_model
    assert [ctx.next_slot(1) for _ in range(3)] == pytest.approx([500.1, 500.3, 500.5])


def test_a_closed_workload_has_no_slots(tmp_path: Path) -> None:
    ctx = context(tmp_path)
    assert not ctx.open_model
    with pytest.raises(RuntimeError, match="arrival"):
        ctx.next_slot(0)


def test_the_hot_set_is_fixed_by_the_first_seat_map(tmp_path: Path) -> None:
    ctx = context(tmp_path, seats={"mode": "hotspot", "hotspot_share": 1, "hotspot_seats": 2})
    first = [SeatView(9, "AVAILABLE"), SeatView(4, "HELD"), SeatView(7, "SOLD")]
    assert ctx.hot_set(1, first) == (4, 7)
    assert ctx.hot_set(1, [SeatView(1, "AVAILABLE")]) == (4, 7)


def test_the_pure_modules_never_import_locust_or_gevent() -> None:
    code = (
        f"import sys; import {', '.join(PURE_MODULES)}; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('locust', 'gevent')); "
        "sys.exit(', '.join(bad) or None)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_the_sale_opens_on_sale_at_s_after_the_process_started(tmp_path: Path) -> None:
    workload = parse_workload(
        {"service_url": "http://x", "operations_path": str(tmp_path / "o.jsonl"), "on_sale_at_s": 4}
    )
    ctx = LoadContext.for_process(workload, processes=1)
    assert ctx.sale_opens_at == ctx.started + 4

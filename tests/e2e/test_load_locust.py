"""The Locust buyers against the real service: sign-in, holds, refusals, the history file.

Locust runs in a subprocess (it monkey-patches the standard library with gevent), built
by ``scenarios.load.process`` exactly as the runner builds it; the service and the identity
provider are real servers on this module's private database, Redis prefix and vhost.
"""

from __future__ import annotations

import dataclasses
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scenarios.apps import settings_env
from scenarios.history import History, Operation, Outcome
from scenarios.load.merge import merge_parts, part_files
from scenarios.load.process import headless_argv, start_locust, stop_locust, web_ui_argv
from scenarios.load.records import PROBLEM_BASE, is_expected_failure
from scenarios.load.workload import Workload, parse_workload, write_workload
from scenarios.locust_stats import read_locust_totals
from service.config import Settings
from tests.support.processes import free_port, running, wait_ready

pytestmark = pytest.mark.slow
LOCUST_TIMEOUT_S = 120


@pytest.fixture(scope="module")
def service_url(
    settings: Settings, idp_url: str, concert_id: int, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = settings_env(dataclasses.replace(settings, oidc_issuer=idp_url, public_url=url))
    log = tmp_path_factory.mktemp("service") / "service.log"
    args = ["-m", "service", "--port", str(port), "--workers", "2"]
    with running(args, f"{url}/readyz", log, env=env):
        yield url


def run_locust(tmp_path: Path, workload: Workload, **options: Any) -> History:
    path = write_workload(workload, tmp_path / "workload.json")
    log = tmp_path / "locust.log"
    process = start_locust(headless_argv(workload, path, **options), log)
    try:
        code = process.wait(LOCUST_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise
    assert code == 0, log.read_text()
    merge_parts(workload.operations_path)
    return History.from_jsonl(workload.operations_path.read_text())


def buyers(service_url: str, concert_id: int, tmp_path: Path, **fields: Any) -> Workload:
    return parse_workload(
        {
            "service_url": service_url,
            "operations_path": str(tmp_path / "operations.jsonl"),
            "login_hint": f"{tmp_path.name}-{{n}}@lab.test",
            "concert_ids": [concert_id],
            "seats": {"mode": "hotspot", "hotspot_share": 0.7, "hotspot_seats": 3},
            "seats_per_hold": [1, 2],
            "think_time_s": [0, 0.05],
            "abandon": {"hold": 0.3},
            "seed": 7,
            **fields,
        }
    )


def assert_no_seat_held_twice(ops: tuple[Operation, ...]) -> None:
    granted = Counter(
        s for op in ops if op.name == "hold" and op.outcome is Outcome.OK for s in op.seat_ids
    )
    assert granted and max(granted.values()) == 1, granted


def test_buyers_sign_in_hold_reserve_and_meet_contention(
    service_url: str, concert_id: int, tmp_path: Path
) -> None:
    workload = buyers(
        service_url,
        concert_id,
        tmp_path,
        shape={"kind": "constant", "users": 6, "spawn_rate": 6, "duration_s": 4},
    )
    history = run_locust(tmp_path, workload)
    ops = history.operations
    by_name = Counter((op.name, op.outcome) for op in ops)

    assert by_name[("sign_in", Outcome.OK)] >= 6
    assert by_name[("browse", Outcome.OK)] > 0 and by_name[("seat_map", Outcome.OK)] > 0
    assert by_name[("hold", Outcome.OK)] > 0 and by_name[("reserve", Outcome.OK)] > 0
    assert_no_seat_held_twice(ops)
    refused = [op for op in ops if op.name == "hold" and op.outcome is Outcome.FAIL]
    assert refused, "three hot seats and six buyers: some holds must be refused"
    assert all(op.status == 409 and is_expected_failure(op) for op in refused), refused
    assert {op.problem_type for op in refused} <= {
        PROBLEM_BASE + "seats-taken",
        PROBLEM_BASE + "ticket-limit",
    }
    for op in ops:
        assert op.request_id and op.intended_start is None and op.start <= op.end
        if op.name == "hold" and op.outcome is Outcome.OK:
            assert op.hold_id and op.seat_ids
        if op.name == "reserve" and op.outcome is Outcome.OK:
            assert op.reservation_id and op.hold_id and op.order_id
    assert not [op for op in ops if op.name in ("payment", "checkout", "confirm")]
    assert all(
        op.outcome is not Outcome.UNKNOWN or op.error.startswith("stopped")
        for op in ops
        if op.error
    )


def test_an_open_model_run_in_two_processes_records_intended_starts(
    service_url: str, concert_id: int, tmp_path: Path
) -> None:
    workload = buyers(
        service_url,
        concert_id,
        tmp_path,
        seats={"mode": "uniform"},
        think_time_s=[0, 0],
        shape={"kind": "arrival", "rate_per_s": 20, "users": 8, "duration_s": 8},
    )
    history = run_locust(tmp_path, workload, processes=2)
    assert part_files(workload.operations_path) == []
    ops = [op for op in history.operations if op.intended_start is not None]
    assert len({op.process.split("-user-")[0] for op in ops}) == 2
    browse = sorted(op.intended_start for op in ops if op.name == "browse")  # type: ignore[misc]
    assert len(browse) >= 20
    # Each browse starts an iteration, on its slot plus the generator's own few ms of
    # work before the request: rounded to the 1/20 s grid, no two share a slot.
    slots = [round((start - browse[0]) * 20) for start in browse]
    assert len(set(slots)) == len(slots), "slots of both processes interleave at 1/20 s"
    assert all(abs((s - browse[0]) * 20 - k) < 0.4 for s, k in zip(browse, slots, strict=True))
    assert all(op.intended_start <= op.start + 1e-3 for op in ops)  # type: ignore[operator]


def test_locust_in_two_processes_leaves_closing_figures_that_count_what_the_history_answered(
    service_url: str, concert_id: int, tmp_path: Path
) -> None:
    users = 6
    workload = buyers(
        service_url,
        concert_id,
        tmp_path,
        shape={"kind": "constant", "users": users, "spawn_rate": users, "duration_s": 4},
    )
    history = run_locust(tmp_path, workload, processes=2, csv_prefix=tmp_path / "locust")
    totals = read_locust_totals(tmp_path / "locust")
    assert totals is not None and totals["source"] == "final"
    answered = sum(op.requests - (op.outcome is Outcome.CUT_OFF) for op in history.operations)
    # Only a request whose status line came just before its user was stopped is answered
    # in the history and not in Locust's statistics: at most one per user.
    assert 0 <= answered - totals["requests"] <= users, (answered, totals)
    assert totals["stopping_at"] is not None


def test_the_web_ui_serves_the_same_buyers_on_loopback(tmp_path: Path) -> None:
    workload = buyers("http://127.0.0.1:9", 1, tmp_path)
    path = write_workload(workload, tmp_path / "workload.json")
    port = free_port()
    log = tmp_path / "locust.log"
    process = start_locust(web_ui_argv(workload, path, web_port=port), log)
    try:
        wait_ready(f"http://127.0.0.1:{port}/", process, log)  # type: ignore[arg-type]
    finally:
        assert stop_locust(process) == 0, log.read_text()

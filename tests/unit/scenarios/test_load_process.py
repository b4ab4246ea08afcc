"""The Locust command lines the runner and ``nox -s locust`` use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from scenarios.load.process import (
    LOCUSTFILE,
    REPO_ROOT,
    SHAPEFILE,
    headless_argv,
    locust_env,
    web_ui_argv,
)
from scenarios.load.workload import Workload, parse_workload

WORKLOAD_PATH = Path("/run/v/workload.json")


def workload(shape: dict[str, Any] | None = None) -> Workload:
    return parse_workload(
        {
            "service_url": "http://127.0.0.1:8080",
            "operations_path": "/run/v/operations.jsonl",
            "shape": shape,
        }
    )


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_a_shaped_workload_runs_headless_with_the_shape_file() -> None:
    argv = headless_argv(
        workload({"kind": "stages", "stages": "seed", "time_scale": 0.125}),
        WORKLOAD_PATH,
        processes=4,
        python="py",
    )
    assert argv[:3] == ["py", "-m", "locust"]
    assert option(argv, "-f") == f"{LOCUSTFILE},{SHAPEFILE}"
    assert option(argv, "--host") == "http://127.0.0.1:8080"
    assert option(argv, "--ticketlab-workload") == str(WORKLOAD_PATH)
    assert option(argv, "--processes") == "4"
    assert option(argv, "--exit-code-on-error") == "0"
    assert {"--headless", "--only-summary"} <= set(argv)
    assert not {"-u", "-r", "-t"} & set(argv)


def test_processes_meet_their_master_on_a_loopback_port_of_their_own() -> None:
    shape = workload({"kind": "step", "step_users": 1, "step_s": 1, "max_users": 2})
    argv = headless_argv(shape, WORKLOAD_PATH, processes=2, master_port=40123)
    assert option(argv, "--master-bind-host") == option(argv, "--master-host") == "127.0.0.1"
    assert option(argv, "--master-bind-port") == option(argv, "--master-port") == "40123"
    free = headless_argv(shape, WORKLOAD_PATH, processes=2)
    assert option(free, "--master-bind-port") == option(free, "--master-port") != "5557"


def test_a_constant_workload_becomes_users_rate_and_run_time() -> None:
    argv = headless_argv(
        workload({"kind": "constant", "users": 20, "spawn_rate": 5, "duration_s": 30.4}),
        WORKLOAD_PATH,
    )
    assert option(argv, "-f") == str(LOCUSTFILE)
    assert (option(argv, "-u"), option(argv, "-r"), option(argv, "-t")) == ("20", "5", "30s")
    assert "--processes" not in argv


def test_without_a_shape_the_load_must_be_given() -> None:
    with pytest.raises(ValueError, match="users, spawn_rate and run_time_s"):
        headless_argv(workload(), WORKLOAD_PATH)
    argv = headless_argv(workload(), WORKLOAD_PATH, users=3, spawn_rate=1.5, run_time_s=9)
    assert (option(argv, "-u"), option(argv, "-r"), option(argv, "-t")) == ("3", "1.5", "9s")


def test_a_bad_process_count_is_refused() -> None:
    with pytest.raises(ValueError, match="processes"):
        headless_argv(
            workload({"kind": "step", "step_users": 1, "step_s": 1, "max_users": 2}),
            WORKLOAD_PATH,
            processes=0,
        )


def test_the_web_ui_listens_on_loopback_8089_with_users_set_by_hand() -> None:
    argv = web_ui_argv(
        workload({"kind": "spike", "baseline_users": 1, "peak_users": 9}), WORKLOAD_PATH
    )
    assert option(argv, "-f") == str(LOCUSTFILE)
    assert (option(argv, "--web-host"), option(argv, "--web-port")) == ("127.0.0.1", "8089")
    assert "--headless" not in argv
    shaped = web_ui_argv(
        workload({"kind": "spike", "baseline_users": 1, "peak_users": 9}),
        WORKLOAD_PATH,
        with_shape=True,
    )
    assert option(shaped, "-f").endswith(str(SHAPEFILE))


def test_locust_can_import_the_repository_from_any_directory() -> None:
    env = locust_env({"PYTHONPATH": "/elsewhere"})
    assert env["PYTHONPATH"].split(":") == [str(REPO_ROOT), "/elsewhere"]
    assert (REPO_ROOT / "scenarios" / "load" / "locustfile.py").exists()

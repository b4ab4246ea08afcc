"""The run directory: everything a report needs, and nothing outside it is needed.

This module is the format's definition; the runner writes through it and ``reports/``
reads the files it describes (without importing this module). Format version 1:

    runs/<YYYYmmdd-HHMMSS>-<scenario>/
      manifest.json            the run as a whole (below)
      report.html              the self-contained report (reports/)
      variants/<variant>/
        settings.json          the service settings of this variant (TICKETLAB_* → value)
        operations.jsonl       one history record per line (scenarios/history.py): every
                               client operation and every fault, with intended/actual start,
                               end, outcome ok|fail|unknown, status, problem type, ids
        stats.csv              per second and operation: second, operation, requests, ok,
                               fail, unknown, p50_ms, p95_ms, p99_ms (from operations.jsonl;
                               `second` counts from the variant's load start)
        summary.json           per operation: count, ok, fail, unknown, throughput_per_s,
                               p50_ms, p95_ms, p99_ms, errors {kind: {count, sample}}; plus
                               holds_granted, holds_refused, seats_oversold, warmup_s,
                               duration_s, generator_bottleneck (bool) with its evidence
        metrics.jsonl          the service's /metrics, scraped each second from every
                               worker: {"t": unix seconds, "target": url, "samples":
                               {"name{label=\"v\",…}": value}}
        resources.csv          t, role (locust|service|psp|idp|mariadb|redis|…), pid,
                               cpu_percent, rss_bytes, fds, threads
        lag.csv                replication lag, sampled every 0.2 s during the load
                               (scenarios/faults/heartbeat.py): t, heartbeat_lag_s (now −
                               the newest heartbeat the replica has, pt-heartbeat style;
                               empty when the replica could not be read),
                               seconds_behind_master (as the replica reports it; empty
                               for NULL), io_running, sql_running (Yes|No|Connecting)
        checks.json            {"verdict": pass|fail|unknown, "results": [CheckResult…]}
        logs/<process>.log     each child process's output
        profiles/              py-spy and memray outputs, when profiling was asked for

manifest.json:
    format_version, run_id, scenario {name, description, source}, status
    (running|completed|failed|interrupted), verdict (pass|fail|unknown), started_at,
    finished_at (ISO 8601 UTC), command (as typed), rerun_command, seed, overrides,
    variants [names, in run order], code {git_sha, dirty}, servers {mariadb, redis,
    rabbitmq: version strings}, machine {cores, cpu_model, memory_bytes, load_average
    [1, 5, 15 min], platform, python}.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1
RUNS_DIR = Path("runs")
STATS_COLUMNS = (
    "second",
    "operation",
    "requests",
    "ok",
    "fail",
    "unknown",
    "p50_ms",
    "p95_ms",
    "p99_ms",
)
RESOURCE_COLUMNS = ("t", "role", "pid", "cpu_percent", "rss_bytes", "fds", "threads")
LAG_COLUMNS = ("t", "heartbeat_lag_s", "seconds_behind_master", "io_running", "sql_running")
SAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def safe_name(name: str) -> str:
    """A scenario or variant name fit for a directory name."""
    cleaned = SAFE_NAME.sub("-", name).strip("-.")
    if not cleaned:
        raise ValueError(f"{name!r} has no characters usable in a directory name")
    return cleaned


def new_run_dir(scenario: str, root: Path = RUNS_DIR, now: datetime | None = None) -> Path:
    """``runs/<timestamp>-<scenario>/``, made unique if two runs start in the same second."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    base = root / f"{stamp}-{safe_name(scenario)}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    path.mkdir(parents=True)
    return path


def variant_dir(run_dir: Path, variant: str) -> Path:
    path = run_dir / "variants" / safe_name(variant)
    (path / "logs").mkdir(parents=True, exist_ok=True)
    return path


def write_json(path: Path, data: Any) -> None:
    """Written to a temporary name then renamed, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def append_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    count = 0
    with path.open("a") as out:
        for record in records:
            out.write(json.dumps(record, sort_keys=True, default=str) + "\n")
            count += 1
    return count


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    with path.open() as lines:
        return [json.loads(line) for line in lines if line.strip()]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> None:
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)

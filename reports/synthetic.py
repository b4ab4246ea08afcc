"""A synthetic run directory, for trying the report and measuring how fast it renders.

``python -m reports.synthetic DIR [--ops N] [--variants a,b]`` writes a plausible run
(format version 1) with N operations per variant, a warm-up, a fault window, resource and
lag samples and checks — no stack needed. It writes the format itself rather than through
the runner's code, because reports/ may depend on nothing but the format.
"""

from __future__ import annotations

import argparse
import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

OPERATIONS = ("browse", "seat_map", "hold", "reserve", "pay")


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")


def write_jsonl(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        out.writelines(json.dumps(r, separators=(",", ":")) + "\n" for r in records)


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(columns)
        writer.writerows(rows)


def manifest(run_id: str, variants: Sequence[str], **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "format_version": 1,
        "run_id": run_id,
        "scenario": {"name": "double-booking", "description": "synthetic", "source": "-"},
        "status": "completed",
        "verdict": "fail",
        "started_at": "2024-06-10T06:13:20Z",
        "finished_at": "2024-06-10T06:16:40Z",
        "command": "ticketlab run double-booking",
        "rerun_command": "ticketlab run double-booking --seed 7",
        "seed": 7,
        "overrides": {},
        "variants": list(variants),
        "code": {"git_sha": "0" * 40, "dirty": False},
        "servers": {"mariadb": "11.4.2", "redis": "7.2.4", "rabbitmq": "3.12.1"},
        "machine": {
            "cores": 2,
            "cpu_model": "synthetic CPU",
            "memory_bytes": 8 << 30,
            "load_average": [0.5, 0.4, 0.3],
            "platform": "Linux",
            "python": "3.11",
        },
    }
    return {**base, **extra}


def demo_variant(path: Path, n_ops: int, seed: int, t0: float = 1_718_000_000.0) -> None:
    """One variant's files: n_ops operations over ~120 s, 10 s warm-up, a fault at 60–80 s."""
    rng = np.random.default_rng(seed)
    duration, warmup = 120.0, 10.0
    starts = np.sort(rng.uniform(t0, t0 + duration, n_ops))
    names = rng.choice(OPERATIONS, n_ops, p=[0.35, 0.25, 0.2, 0.1, 0.1])
    in_fault = (starts >= t0 + 60) & (starts < t0 + 80)
    latency = rng.lognormal(np.log(0.02), 0.6, n_ops) * np.where(in_fault, 8.0, 1.0)
    roll = rng.random(n_ops)
    outcome = np.where(roll < 0.9, "ok", np.where(roll < 0.98, "fail", "unknown"))
    status = np.where(outcome == "ok", 200, np.where(outcome == "fail", 409, 0))
    status = np.where((outcome == "fail") & (rng.random(n_ops) < 0.2), 503, status)
    records: list[dict[str, Any]] = [
        {
            "type": "op",
            "name": str(n),
            "process": f"user-{i % 50}",
            "intended_start": None,
            "start": float(s),
            "end": float(s + lat),
            "outcome": str(o),
            "status": int(st) or None,
            "problem_type": "/problems/overloaded" if st == 503 else None,
            "error": "timeout" if o == "unknown" else None,
            "request_id": f"r{i}",
        }
        for i, (n, s, lat, o, st) in enumerate(
            zip(names, starts, latency, outcome, status, strict=True)
        )
    ]
    records.append(
        {"type": "fault", "kind": "psp-latency", "start": t0 + 60, "end": t0 + 80, "target": "psp"}
    )
    write_jsonl(path / "operations.jsonl", records)
    write_json(path / "settings.json", {"TICKETLAB_CLAIM_STRATEGY": path.name})
    write_json(
        path / "summary.json",
        {
            "warmup_s": warmup,
            "duration_s": duration,
            "load_start": t0,
            "holds_granted": int(((names == "hold") & (outcome == "ok")).sum()),
            "holds_refused": int(((names == "hold") & (outcome == "fail")).sum()),
            "seats_oversold": 3 if path.name == "naive" else 0,
            "generator_bottleneck": False,
        },
    )
    seconds = np.arange(0, duration, 1.0)
    roles = ("locust", "service", "mariadb", "redis")
    write_csv(
        path / "resources.csv",
        ("t", "role", "pid", "cpu_percent", "rss_bytes", "fds", "threads"),
        (
            (t0 + s, role, 100 + j, float(rng.uniform(5, 60)), 50_000_000, 30, 4)
            for s in seconds
            for j, role in enumerate(roles)
        ),
    )
    write_csv(
        path / "lag.csv",
        ("t", "seconds_behind_primary"),
        ((t0 + s, float(max(0, rng.normal(0.2, 0.3)))) for s in seconds),
    )
    oversold = path.name == "naive"
    write_json(
        path / "checks.json",
        {
            "verdict": "fail" if oversold else "pass",
            "results": [
                {
                    "name": "no-double-booking",
                    "verdict": "fail" if oversold else "pass",
                    "summary": "3 seats held or sold twice" if oversold else "no seats sold twice",
                    "counterexamples": [
                        {"seat_id": 41 + k, "problem": "sold twice", "holds": [k, k + 1]}
                        for k in range(3 if oversold else 0)
                    ],
                    "counterexample_count": 3 if oversold else 0,
                    "metrics": {"oversold_seats": 3 if oversold else 0},
                    "unsettled": [],
                    "expected_violation": None,
                }
            ],
        },
    )


def demo_run(path: Path, n_ops: int = 10_000, variants: Sequence[str] = ("naive", "conditional")):
    for i, name in enumerate(variants):
        demo_variant(path / "variants" / name, n_ops, seed=i)
    write_json(path / "manifest.json", manifest(path.name, variants))
    return path


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m reports.synthetic")
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--ops", type=int, default=10_000, help="operations per variant")
    parser.add_argument("--variants", default="naive,conditional")
    args = parser.parse_args(argv)
    print(demo_run(args.run_dir, args.ops, args.variants.split(",")))


if __name__ == "__main__":
    main()

"""Synthetic run directories with known numbers, for the report tests.

The run is written file by file in the run-directory format (format version 2), not through
the runner, so the report tests pin the format rather than one writer's habits. Latencies
are whole milliseconds in a known set, so the nearest-rank percentiles are known exactly:
``hold`` in variant ``naive`` takes 1…200 ms after warm-up → p50 100, p95 190, p99 198.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

T0 = 1_718_000_000.0
WARMUP_S = 10.0
WARMUP_LATENCY_MS = 5000.0
XSS = "<script>alert('x')</script> & \"quoted\""
COUNTEREXAMPLE_SEAT = 4242


def op(
    name: str,
    at: float,
    latency_ms: float,
    outcome: str = "ok",
    status: int | None = 200,
    **extra: Any,
) -> dict[str, Any]:
    """An operation scheduled ``at`` seconds after load start."""
    start = T0 + at
    return {
        "type": "op",
        "name": name,
        "process": "user-1",
        "intended_start": None,
        "start": start,
        "end": start + latency_ms / 1000.0,
        "outcome": outcome,
        "status": status,
        "problem_type": None,
        "error": None,
        "hold_id": None,
        "reservation_id": None,
        "order_id": None,
        "seat_ids": [],
        "request_id": None,
        **extra,
    }


def fault(kind: str, at: float, until: float | None) -> dict[str, Any]:
    return {
        "type": "fault",
        "kind": kind,
        "start": T0 + at,
        "end": None if until is None else T0 + until,
        "target": "psp",
        "params": {},
        "note": None,
    }


def result(name: str, verdict: str, summary: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "verdict": verdict,
        "summary": summary,
        "counterexamples": [],
        "counterexample_count": 0,
        "metrics": {},
        "unsettled": [],
        "expected_violation": None,
        **extra,
    }


@dataclass
class VariantSpec:
    """The files of one variant; ``None`` leaves a file out."""

    name: str
    records: list[dict[str, Any]] | None = field(default_factory=list)
    summary: dict[str, Any] | None = None
    checks: dict[str, Any] | None = None
    settings: dict[str, Any] | None = None
    resources: list[tuple[Any, ...]] | None = None
    lag: list[tuple[float, float]] | None = None
    stats: str | None = None


def write_run(root: Path, variants: list[VariantSpec], **manifest: Any) -> Path:
    run = root / manifest.get("run_id", "20240610-061320-double-booking")
    for spec in variants:
        path = run / "variants" / spec.name
        path.mkdir(parents=True, exist_ok=True)
        if spec.records is not None:
            lines = "".join(json.dumps(r) + "\n" for r in spec.records)
            (path / "operations.jsonl").write_text(lines)
        for filename, data in (
            ("summary.json", spec.summary),
            ("checks.json", spec.checks),
            ("settings.json", spec.settings),
        ):
            if data is not None:
                (path / filename).write_text(json.dumps(data))
        if spec.resources is not None:
            rows = "".join(",".join(map(str, r)) + "\n" for r in spec.resources)
            (path / "resources.csv").write_text(
                "t,role,pid,cpu_percent,rss_bytes,fds,threads\n" + rows
            )
        if spec.lag is not None:
            rows = "".join(f"{t},{s}\n" for t, s in spec.lag)
            (path / "lag.csv").write_text("t,seconds_behind_primary\n" + rows)
        if spec.stats is not None:
            (path / "stats.csv").write_text(spec.stats)
    data = {
        "format_version": 2,
        "run_id": run.name,
        "scenario": {"name": "double-booking", "description": "six strategies", "source": "x"},
        "status": "completed",
        "verdict": "fail",
        "started_at": "2024-06-10T06:13:20Z",
        "finished_at": "2024-06-10T06:16:40Z",
        "command": "ticketlab run double-booking",
        "rerun_command": "ticketlab run double-booking --seed 7 --users 50",
        "seed": 7,
        "overrides": {"users": 50},
        "variants": [v.name for v in variants],
        "code": {"git_sha": "abc123", "dirty": False},
        "servers": {"mariadb": "11.4.2-MariaDB", "redis": "7.2.4", "rabbitmq": "3.12.1"},
        "machine": {
            "cores": 2,
            "cpu_model": "Test CPU @ 2.0GHz",
            "memory_bytes": 8 << 30,
            "load_average": [0.1, 0.2, 0.3],
            "platform": "Linux",
            "python": "3.11.7",
        },
    }
    data.update(manifest)
    (run / "manifest.json").write_text(json.dumps(data))
    return run


def hold_ops(latencies: range, start_at: float, rng: random.Random) -> list[dict[str, Any]]:
    """Hold operations with the given latencies, shuffled in time after ``start_at``."""
    ordered = list(latencies)
    rng.shuffle(ordered)
    ops = []
    for i, latency in enumerate(ordered):
        at = start_at + i * 0.4
        if i % 10 == 3:
            ops.append(op("hold", at, latency, "fail", 409, problem_type="/problems/seat-taken"))
        elif i % 25 == 7:
            ops.append(
                op("hold", at, latency, "fail", 503, problem_type="/problems/overloaded", error=XSS)
            )
        else:
            ops.append(op("hold", at, latency))
    return ops


def naive_spec() -> VariantSpec:
    """Warm-up holds of 5 s, then 200 holds of 1…200 ms, and browses of 1001…1100 ms."""
    rng = random.Random(1)
    warmup = [op("hold", 0.5 * i, WARMUP_LATENCY_MS) for i in range(20)]
    browse = [op("browse", WARMUP_S + 0.9 * i, 1000 + k) for i, k in enumerate(range(1, 101))]
    records = [
        *warmup,
        *hold_ops(range(1, 201), WARMUP_S, rng),
        *browse,
        fault("psp-latency", 40, 60),
    ]
    rng.shuffle(records)  # the format does not promise time order
    checks = {
        "verdict": "fail",
        "results": [
            result("seat-counts-conserved", "pass", "no seat count discrepancies"),
            result(
                "no-double-booking",
                "fail",
                "1 seats held or sold twice",
                counterexamples=[
                    {"seat_id": COUNTEREXAMPLE_SEAT, "problem": "sold twice", "holds": [7, 9]}
                ],
                counterexample_count=1,
                metrics={"seats_held_twice": 0, "seats_sold_twice": 1},
            ),
            result(
                "money-conserved",
                "unknown",
                "not settled (payments: 2 in flight)",
                unsettled=["payments"],
            ),
        ],
    }
    summary = {
        "warmup_s": WARMUP_S,
        "duration_s": 100.0,
        "holds_granted": 172,
        "holds_refused_taken_or_limit": 20,
        "holds_refused_contention": 8,
        "seats_held_twice": 0,
        "seats_sold_twice": 1,
        "generator_bottleneck": False,
        "operations": {
            "hold": {
                "count": 200,
                "error_kinds": {"503 overloaded": {"count": 8, "sample": XSS + " body"}},
            }
        },
    }
    resources = [(T0 + s, role, 1, 20.0 + s, 1000, 10, 2) for s in range(90) for role in "ab"]
    lag = [(T0 + s, 0.1 * (s % 5)) for s in range(90)]
    return VariantSpec(
        "naive",
        records,
        summary,
        checks,
        {"TICKETLAB_CLAIM_STRATEGY": "naive"},
        resources,
        lag,
    )


def conditional_spec() -> VariantSpec:
    """No resources, lag, settings or stats: optional files left out. Holds 1…100 ms."""
    rng = random.Random(2)
    records = [
        *[op("hold", 0.5 * i, WARMUP_LATENCY_MS) for i in range(20)],
        *hold_ops(range(1, 101), WARMUP_S, rng),
        fault("db-slow", 30, None),
    ]
    checks = {
        "verdict": "pass",
        "results": [result("no-double-booking", "pass", "no seats held or sold twice")],
    }
    return VariantSpec("conditional", records, {"warmup_s": WARMUP_S}, checks)


def standard_run(root: Path, **manifest: Any) -> Path:
    return write_run(root, [naive_spec(), conditional_spec()], **manifest)


def small_run(root: Path, **manifest: Any) -> Path:
    """The standard run's two variants with one hold each: enough for what does not read
    the figures (paths, options, labels), and a fraction of the standard run's drawing."""
    variants = [VariantSpec(name, [op("hold", 0, 1)]) for name in ("naive", "conditional")]
    return write_run(root, variants, **manifest)


# -- a run whose every figure is known (issue 9) -------------------------------------------

KNOWN_WARMUP_S = 2.0
TAKEN = "https://ticketlab.dev/problems/seats-taken"
LIMIT = "https://ticketlab.dev/problems/ticket-limit"
CONTENTION = "https://ticketlab.dev/problems/contention"


def known_records() -> list[dict[str, Any]]:
    """The load starts at T0 (first request sent) and its last answer arrives at T0 + 12.

    Warm-up (2 s): a sign-in of three requests and a 5 s browse, measured by nothing.
    Measured (10 s): browses of 10, 20, 30, 40 ms; holds of 50 (ok), 60 (409 taken), 70
    (409 limit), 80 (503 contention), 90 ms (unknown: timeout); a reserve of 1,000 ms ending
    at T0 + 12; then a hold and a sign-in (its second request in flight) cut off by the
    generator's stop, the hold's recorded end after the last answer.
    """
    return [
        op("sign_in", 0.0, 100, requests=3),
        op("browse", 1.0, 5000),
        *(op("browse", at, ms) for at, ms in ((2, 10), (3, 20), (4, 30), (5, 40))),
        op("hold", 6.0, 50, status=201),
        op("hold", 6.5, 60, "fail", 409, problem_type=TAKEN, error="expected: seats-taken"),
        op("hold", 7.0, 70, "fail", 409, problem_type=LIMIT, error="expected: ticket-limit"),
        op("hold", 7.5, 80, "fail", 503, problem_type=CONTENTION, error="contention"),
        op("hold", 8.0, 90, "unknown", None, error="timeout"),
        op("reserve", 11.0, 1000, status=201),
        op("hold", 11.5, 1000, "cut-off", None, error="cut off"),
        op("sign_in", 11.8, 100, "cut-off", None, requests=2, error="cut off"),
    ]


#: Every figure of known_records(), by name as summary.json spells it.
KNOWN = {
    "load_start": T0,
    "load_end": T0 + 12.0,
    "warmup_end": T0 + 2.0,
    "seconds": 10.0,
    "count": 10,
    "ok": 6,
    "refused": 2,
    "errors": 2,
    "unknown": 1,
    "cut_off": 2,
    "error_rate": 0.2,
    "throughput_per_s": 0.8,
    "requests_completed": 11,
    "requests_per_s": 1.1,
    "p50_ms": 50.0,
    "p95_ms": 1000.0,
    "p99_ms": 1000.0,
    "hold_p50_ms": 70.0,
    "holds_granted": 1,
    "holds_refused_taken_or_limit": 2,
    "holds_refused_contention": 1,
}

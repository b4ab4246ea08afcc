"""The report shows each worker's leak verdict with its rule and chart, the allocation site
memray named, the profiles with their headline, and the knee with its attribution."""

import json
from pathlib import Path

from reports.build import render_run
from reports.rundir import load_run
from reports.synthetic import demo_run, write_csv, write_json


def test_leak_profile_and_knee_sections_come_from_the_run_directory(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    demo_run(run_dir, n_ops=200, variants=("defect-on",))
    variant = run_dir / "variants" / "defect-on"
    t0 = 1_718_000_000.0
    write_csv(
        variant / "workers.csv",
        ("t", "role", "pid", "kind", "uss_bytes"),
        [(t0 + s, "service", 41, "worker", 50e6 + 20_000 * s) for s in range(60)],
    )
    verdict = {
        "pid": 41,
        "resource": "uss_bytes",
        "verdict": "LEAK",
        "rule": "slope +1.14 MiB/min, still growing",
        "t_start": t0 + 10,
        "t_end": t0 + 59,
        "slope_per_s": 20_000.0,
        "intercept": 50.2e6,
        "per_minute": 1.2e6,
        "per_minute_low": 1.1e6,
        "per_minute_high": 1.3e6,
        "per_1k_requests": 1.3e6,
    }
    write_json(
        variant / "leaks.json",
        {
            "resources": ["uss_bytes"],
            "verdicts": [verdict],
            "allocating_line": "service/http/defects.py:35 (request_journal_middleware)",
            "allocations": [
                {
                    "site": "service/http/defects.py:35 (request_journal_middleware)",
                    "bytes": 9_000_000,
                    "allocations": 40_000,
                }
            ],
        },
    )
    write_json(
        variant / "profiles" / "profiles.json",
        {
            "profiler": "py-spy",
            "files": [{"file": "py-spy-41.svg", "what": "worker 41: flame graph"}],
            "notes": ["py-spy could not profile worker 42 (.svg): Error: permission denied"],
            "top": [{"function": "select (selectors.py:468)", "self_s": 9.0, "self_share": 0.3}],
        },
    )
    steps = [
        {
            "users": u,
            "throughput": tp,
            "throughput_se": se,
            "p95_ms": p95,
            "evidence": {"pool_waiting": w},
        }
        for u, tp, se, p95, w in [(10, 50, 1.5, 40, 0), (20, 90, 4.25, 60, 2), (30, 91, 3, 300, 9)]
    ]
    knee = {
        "users": 20,
        "throughput": 90,
        "p95_ms": 60,
        "reason": "throughput peaks at 90/s",
        "attribution": "the database pool saturated first, at 20 users",
    }
    write_json(variant / "knee.json", {"steps": steps, "noise_z": 2.0, "knee": knee})

    summary = variant / "summary.json"
    data = json.loads(summary.read_text())
    data["sampler"] = {"ticks": 60, "cpu_ms_per_tick": 12.5, "core_share": 0.0125}
    write_json(summary, data)

    page = render_run(load_run(run_dir))

    assert "The sampler took 12.5 ms of CPU per tick over 60 ticks (1.2% of one core)" in page
    assert '<h2 id="leaks">' in page and "rule: slope +1.14 MiB/min, still growing" in page
    assert "+1.144 MiB/min [+1.049 MiB, +1.240 MiB]" in page
    assert "service/http/defects.py:35 (request_journal_middleware)" in page
    assert 'href="variants/defect-on/profiles/py-spy-41.svg"' in page
    assert "select (selectors.py:468)" in page and "30.0%" in page
    assert "permission denied" in page
    assert '<h2 id="knee">' in page and "the database pool saturated first" in page
    assert "± s.e." in page and ">4.2<" in page  # each step's noise beside its throughput


def test_a_run_without_leaks_profiles_or_steps_has_none_of_these_sections(tmp_path: Path) -> None:
    demo_run(tmp_path / "run", n_ops=100, variants=("a",))
    page = render_run(load_run(tmp_path / "run"))
    assert 'id="leaks"' not in page and 'id="knee"' not in page and 'id="profiles"' not in page

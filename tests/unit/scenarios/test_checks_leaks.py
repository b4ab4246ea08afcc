"""The no-leak check maps the leak verdicts of every service worker to pass, fail, unknown."""

import random

import pytest

from scenarios.checks.leaks import no_leak
from scenarios.checks.result import Verdict


def rows(pid: int, fds: list[float], kind: str = "worker") -> list[dict[str, object]]:
    return [
        {"t": float(t), "pid": pid, "role": "service", "kind": kind, "fds": v, "requests": 10.0 * t}
        for t, v in enumerate(fds)
    ]


FLAT = [30.0] * 90
GROWING = [30.0 + t / 2 for t in range(90)]


def test_a_worker_that_leaks_fails_the_check_and_is_the_counterexample() -> None:
    result = no_leak(rows(1, FLAT) + rows(2, GROWING), ["fds"], 0.0, 89.0)
    assert result.verdict is Verdict.FAIL
    assert [(c["pid"], c["resource"], c["verdict"]) for c in result.counterexamples] == [
        (2, "fds", "LEAK")
    ]
    assert result.counterexamples[0]["per_minute"] == 30.0
    assert result.counterexamples[0]["per_1k_requests"] == 50.0
    assert result.metrics["workers"] == 2 and result.metrics["leaking"] == 1
    assert "worker 2 fds" in result.summary


def test_workers_that_hold_steady_pass() -> None:
    result = no_leak(rows(1, FLAT) + rows(2, FLAT), ["fds"], 0.0, 89.0)
    assert result.verdict is Verdict.PASS
    assert result.summary == "no leak in fds on 2 worker(s)"


def test_a_supervisor_is_not_judged() -> None:
    result = no_leak(rows(1, FLAT) + rows(9, GROWING, kind="supervisor"), ["fds"], 0.0, 89.0)
    assert result.verdict is Verdict.PASS and result.metrics["workers"] == 1


def test_a_series_too_noisy_to_decide_is_unknown() -> None:
    rng = random.Random(3)
    wild = [30.0 + rng.gauss(0, 40) for _ in range(90)]
    result = no_leak(rows(1, wild), ["fds"], 0.0, 89.0)
    assert result.verdict is Verdict.UNKNOWN
    assert "too noisy" in result.summary


def test_samples_outside_the_window_do_not_count() -> None:
    result = no_leak(rows(1, GROWING), ["fds"], 0.0, 10.0)
    assert result.verdict is Verdict.UNKNOWN
    assert "only 11 samples" in result.summary


def test_without_workers_the_check_is_unknown() -> None:
    result = no_leak(rows(1, GROWING, kind="process"), ["fds"], 0.0, 89.0)
    assert result.verdict is Verdict.UNKNOWN


def test_an_undecided_check_still_reports_what_it_measured() -> None:
    rng = random.Random(3)
    wild = [30.0 + rng.gauss(0, 40) for _ in range(90)]
    result = no_leak(rows(1, wild), ["fds"], 0.0, 89.0)
    assert result.verdict is Verdict.UNKNOWN
    assert result.metrics == {"workers": 1, "resources": "fds", "leaking": 0, "inconclusive": 1}


@pytest.mark.parametrize(
    ("samples", "verdict"),
    [
        (rows(1, GROWING), Verdict.FAIL),
        (rows(1, FLAT), Verdict.PASS),
        (rows(1, GROWING)[:11], Verdict.UNKNOWN),
        (rows(1, GROWING, kind="process"), Verdict.UNKNOWN),
    ],
)
def test_every_verdict_is_named_for_the_check(
    samples: list[dict[str, object]], verdict: Verdict
) -> None:
    result = no_leak(samples, ["fds"], 0.0, 89.0)
    assert (result.name, result.verdict) == ("no-leak", verdict)

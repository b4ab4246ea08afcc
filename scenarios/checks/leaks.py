"""``no-leak``: no service worker leaks any of the resources the scenario names.

A soak scenario fails on a leak as it fails on a double sale. The verdicts themselves are
``profiling.leaks``' (Theil–Sen slope with Sen's interval over the measured window, the
rules in its docstring); this check maps them: any LEAK fails (each leaking worker and
resource a counterexample, with its slope and the rule that decided), otherwise any
INCONCLUSIVE is unknown, and only NO LEAK on every worker and resource passes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from profiling.leaks import Leak, process_verdicts
from scenarios.checks.result import CheckResult, Verdict

NO_LEAK = "no-leak"
KEPT = ("pid", "resource", "verdict", "rule", "per_minute", "per_1k_requests", "growth")


def no_leak(
    workers: Sequence[Mapping[str, Any]],
    resources: Sequence[str],
    start: float,
    end: float,
) -> CheckResult:
    verdicts = process_verdicts(workers, resources, start, end)
    if not verdicts:
        return CheckResult.unknown(NO_LEAK, "no service worker was sampled in the window")
    leaks = [v for v in verdicts if v["verdict"] == Leak.LEAK]
    unsure = [v for v in verdicts if v["verdict"] == Leak.INCONCLUSIVE]
    pids = sorted({v["pid"] for v in verdicts})
    metrics = {
        "workers": len(pids),
        "resources": ", ".join(resources),
        "leaking": len(leaks),
        "inconclusive": len(unsure),
    }
    if leaks:
        first = leaks[0]
        summary = (
            f"{len(leaks)} of {len(verdicts)} worker resources leak; worker {first['pid']} "
            f"{first['resource']}: {first['rule']}"
        )
        examples = [{k: v.get(k) for k in KEPT} for v in leaks]
        return CheckResult.make(NO_LEAK, Verdict.FAIL, summary, examples, metrics)
    if unsure:
        first = unsure[0]
        summary = (
            f"{len(unsure)} of {len(verdicts)} worker resources undecided; worker "
            f"{first['pid']} {first['resource']}: {first['rule']}"
        )
        return CheckResult.make(NO_LEAK, Verdict.UNKNOWN, summary, metrics=metrics)
    summary = f"no leak in {', '.join(resources)} on {len(pids)} worker(s)"
    return CheckResult.make(NO_LEAK, Verdict.PASS, summary, metrics=metrics)

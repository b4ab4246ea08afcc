"""Running checks: a crashing checker is unknown, and an expected violation inverts.

Jepsen's rule: a checker that throws has not shown the history valid or invalid, so its
verdict is unknown with the exception as evidence, and the other checks still run.

Some variants exist to show a violation (the naive claim strategy oversells). Such a check
is declared with ``expected_violation``: it passes when the violation is observed, fails
when it is not (the demonstration did not demonstrate), and stays unknown when undecided.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from scenarios.checks.result import CheckReport, CheckResult, Verdict
from scenarios.checks.snapshot import Evidence


@dataclass(frozen=True)
class Check:
    """A named checker over the evidence, optionally expected to find a violation."""

    name: str
    run: Callable[[Evidence], CheckResult]
    expected_violation: str | None = None

    def expecting(self, violation: str) -> Check:
        """This check, inverted: ``violation`` says what the variant exists to show."""
        return replace(self, expected_violation=violation)


def run_check(check: Check, evidence: Evidence) -> CheckResult:
    try:
        result = check.run(evidence).with_name(check.name)
    except Exception as exc:
        result = crashed(check.name, exc)
    if check.expected_violation is not None:
        result = expect_violation(result, check.expected_violation)
    return result


def run_checks(checks: Iterable[Check], evidence: Evidence) -> CheckReport:
    """Every check's result, in order; none can stop the others."""
    return CheckReport(tuple(run_check(c, evidence) for c in checks))


def crashed(name: str, exc: BaseException) -> CheckResult:
    text = f"{type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(exc)[-6:])
    return CheckResult.make(
        name,
        Verdict.UNKNOWN,
        f"checker crashed: {text}",
        [{"exception": type(exc).__name__, "message": str(exc), "traceback": trace}],
    )


def expect_violation(result: CheckResult, violation: str) -> CheckResult:
    """Invert a result for a variant that exists to show ``violation``."""
    if result.verdict is Verdict.FAIL:
        verdict, summary = Verdict.PASS, f"expected violation observed ({violation}): "
    elif result.verdict is Verdict.PASS:
        verdict, summary = Verdict.FAIL, f"expected violation NOT observed ({violation}): "
    else:
        verdict, summary = Verdict.UNKNOWN, f"expected violation undecided ({violation}): "
    return replace(
        result, verdict=verdict, summary=summary + result.summary, expected_violation=violation
    )

"""Running checks: crashes become unknown, expected violations invert."""

from __future__ import annotations

import pytest

from scenarios.checks.catalog import check_no_double_booking, invariant_checks, invariants
from scenarios.checks.result import CheckResult, Verdict
from scenarios.checks.run import Check, expect_violation, run_check, run_checks
from scenarios.checks.snapshot import DbState, Evidence


def returning(verdict: Verdict) -> Check:
    return Check("c", lambda ev: CheckResult.make("c", verdict, "measured"))


def explode(ev: Evidence) -> CheckResult:
    raise ZeroDivisionError("division by zero")


def test_a_crashing_checker_is_unknown_with_the_exception_text() -> None:
    result = run_check(Check("boom", explode), Evidence())

    assert result.verdict is Verdict.UNKNOWN
    assert "ZeroDivisionError: division by zero" in result.summary
    assert result.counterexamples[0]["exception"] == "ZeroDivisionError"


def test_a_crashing_checker_does_not_stop_the_others() -> None:
    report = run_checks([Check("boom", explode), returning(Verdict.PASS)], Evidence())

    assert [r.verdict for r in report.results] == [Verdict.UNKNOWN, Verdict.PASS]


def test_a_result_takes_the_name_its_check_was_declared_with() -> None:
    result = run_check(
        Check("declared", lambda ev: CheckResult.make("x", Verdict.PASS, "")), Evidence()
    )

    assert result.name == "declared"


def test_an_expected_violation_that_is_observed_passes() -> None:
    result = run_check(returning(Verdict.FAIL).expecting("naive oversells"), Evidence())

    assert result.verdict is Verdict.PASS
    assert result.expected_violation == "naive oversells"
    assert result.summary.startswith("expected violation observed (naive oversells)")


def test_an_expected_violation_that_is_not_observed_fails() -> None:
    result = run_check(returning(Verdict.PASS).expecting("naive oversells"), Evidence())

    assert result.verdict is Verdict.FAIL
    assert "NOT observed" in result.summary


def test_an_undecided_expected_violation_stays_unknown() -> None:
    result = expect_violation(CheckResult.make("c", Verdict.UNKNOWN, "s"), "v")

    assert result.verdict is Verdict.UNKNOWN


def test_a_check_whose_snapshot_was_not_captured_is_unknown_not_pass() -> None:
    result = run_check(check_no_double_booking(), Evidence())

    assert result.verdict is Verdict.UNKNOWN
    assert "database snapshot" in result.summary


def test_the_invariants_pass_on_an_empty_settled_world_except_uncaptured_inputs() -> None:
    report = run_checks(invariants(grace_s=5), Evidence(db=DbState(checked_at=0.0)))

    verdicts = {r.name: r.verdict for r in report.results}
    assert verdicts == {
        "no-double-booking": Verdict.PASS,
        "money-conserved": Verdict.UNKNOWN,
        "no-hold-past-ttl": Verdict.PASS,
        "seat-counts-conserved": Verdict.PASS,
        "webhooks-applied-once": Verdict.UNKNOWN,
        "no-event-lost": Verdict.UNKNOWN,
    }


def test_invariants_are_chosen_by_name_with_expected_violations_inverted() -> None:
    checks = invariant_checks(
        ["no-hold-past-ttl", "no-double-booking"],
        grace_s=5,
        expected_violations=["no-double-booking"],
    )

    assert [c.name for c in checks] == ["no-hold-past-ttl", "no-double-booking"]
    assert checks[0].expected_violation is None
    assert checks[1].expected_violation is not None


def test_an_unknown_invariant_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: no-double-booking"):
        invariant_checks(["no-such-thing"], grace_s=5)


def test_a_crash_keeps_the_exception_its_message_and_the_end_of_its_traceback() -> None:
    result = run_check(Check("boom", explode), Evidence())

    [example] = result.counterexamples
    assert result.name == "boom"
    assert result.summary == "checker crashed: ZeroDivisionError: division by zero"
    assert (example["exception"], example["message"]) == ("ZeroDivisionError", "division by zero")
    trace = example["traceback"].splitlines()
    assert trace[-1] == "ZeroDivisionError: division by zero"
    assert 'raise ZeroDivisionError("division by zero")' in example["traceback"]


def test_a_deep_crash_keeps_only_the_last_six_traceback_entries() -> None:
    def f1() -> CheckResult:
        return f2()

    def f2() -> CheckResult:
        return f3()

    def f3() -> CheckResult:
        return f4()

    def f4() -> CheckResult:
        return f5()

    def f5() -> CheckResult:
        return f6()

    def f6() -> CheckResult:
        raise KeyError("seat")

    result = run_check(Check("deep", lambda ev: f1()), Evidence())

    trace = result.counterexamples[0]["traceback"]
    assert [n for n in ("f1", "f2", "f3", "f4", "f5", "f6") if f"in {n}\n" in trace] == [
        "f2",
        "f3",
        "f4",
        "f5",
        "f6",
    ]
    assert trace.endswith("KeyError: 'seat'\n")

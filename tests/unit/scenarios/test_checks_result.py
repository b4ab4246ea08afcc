"""Verdicts, results and their composition."""

from __future__ import annotations

import json

from scenarios.checks.result import (
    MAX_COUNTEREXAMPLES,
    CheckReport,
    CheckResult,
    Verdict,
    combine,
    judge,
)

PASS, FAIL, UNKNOWN = Verdict.PASS, Verdict.FAIL, Verdict.UNKNOWN


def result(verdict: Verdict, name: str = "c") -> CheckResult:
    return CheckResult.make(name, verdict, "s")


def test_any_fail_makes_the_whole_fail() -> None:
    assert combine([PASS, UNKNOWN, FAIL]) is FAIL


def test_unknown_without_fail_makes_the_whole_unknown() -> None:
    assert combine([PASS, UNKNOWN, PASS]) is UNKNOWN


def test_all_pass_or_nothing_checked_passes() -> None:
    assert combine([PASS, PASS]) is PASS
    assert combine([]) is PASS


def test_a_report_takes_the_composed_verdict_of_its_results() -> None:
    report = CheckReport((result(PASS, "a"), result(FAIL, "b"), result(UNKNOWN, "c")))

    assert report.verdict is FAIL
    assert [r.name for r in report.failed()] == ["b"]


def test_a_result_round_trips_through_json() -> None:
    original = CheckResult.make(
        "no-double-booking",
        FAIL,
        "1 seats sold twice",
        [{"seat_id": 3, "holds": [1, 2], "overlap_from": 10.5}],
        {"oversold_seats": 1, "ratio": 0.5, "note": None},
        unsettled=["outbox"],
    )

    assert CheckResult.from_dict(json.loads(json.dumps(original.to_dict()))) == original


def test_a_report_round_trips_through_json_with_its_verdict() -> None:
    report = CheckReport((result(PASS, "a"), result(UNKNOWN, "b")))

    data = json.loads(json.dumps(report.to_dict()))

    assert data["verdict"] == "unknown"
    assert CheckReport.from_dict(data) == report


def test_counterexamples_are_capped_but_counted() -> None:
    many = [{"seat_id": i} for i in range(MAX_COUNTEREXAMPLES + 7)]

    capped = CheckResult.make("c", FAIL, "s", many)

    assert len(capped.counterexamples) == MAX_COUNTEREXAMPLES
    assert capped.counterexample_count == MAX_COUNTEREXAMPLES + 7


def test_a_definite_violation_fails_even_while_something_is_unsettled() -> None:
    verdict = judge("c", definite=[{"x": 1}], unsettled={"outbox": "3 left"}, what="things")

    assert verdict.verdict is FAIL
    assert verdict.summary == "1 things"


def test_a_possible_violation_is_unknown() -> None:
    verdict = judge("c", definite=[], possible=[{"x": 1}], what="things")

    assert verdict.verdict is UNKNOWN
    assert verdict.counterexamples == ({"x": 1},)


def test_an_unsettled_dependency_is_unknown_and_named() -> None:
    verdict = judge("c", definite=[], unsettled={"webhooks": "2 retries pending"}, what="x")

    assert verdict.verdict is UNKNOWN
    assert verdict.unsettled == ("webhooks",)
    assert "webhooks: 2 retries pending" in verdict.summary


def test_nothing_found_and_everything_settled_passes() -> None:
    assert judge("c", definite=[], what="things").verdict is PASS


# ---- the shared verdict rule, compared whole --------------------------------------------


def test_a_definite_violation_fails_keeping_the_possible_ones_and_what_did_not_settle() -> None:
    got = judge(
        "inv",
        definite=[{"id": 1}],
        possible=[{"id": 2}],
        unsettled={"payments": "busy"},
        what="things broken",
        metrics={"n": 2},
    )

    assert got == CheckResult(
        "inv", FAIL, "1 things broken", ({"id": 1}, {"id": 2}), 2, {"n": 2}, ("payments",)
    )


def test_possible_violations_without_a_reported_reason_are_unknown() -> None:
    got = judge("inv", definite=[], possible=[{"id": 2}, {"id": 3}], what="things broken")

    assert got == CheckResult(
        "inv",
        UNKNOWN,
        "2 possible things broken, not settled (nothing reported)",
        ({"id": 2}, {"id": 3}),
        2,
        {},
    )


def test_something_unsettled_alone_is_unknown_naming_it() -> None:
    got = judge(
        "inv",
        definite=[],
        unsettled={"outbox": "3 left", "consumer": "lagging"},
        what="x",
        metrics={"m": 1},
    )

    assert got == CheckResult(
        "inv",
        UNKNOWN,
        "not settled (outbox: 3 left; consumer: lagging)",
        (),
        0,
        {"m": 1},
        ("outbox", "consumer"),
    )


def test_nothing_found_and_all_settled_passes_with_the_metrics() -> None:
    assert judge("inv", definite=[], what="things broken", metrics={"m": 0}) == CheckResult(
        "inv", PASS, "no things broken", (), 0, {"m": 0}
    )


def test_an_unknown_result_keeps_its_name_and_metrics() -> None:
    assert CheckResult.unknown("inv", "why", samples=3) == CheckResult(
        "inv", UNKNOWN, "why", (), 0, {"samples": 3}
    )


def test_a_result_with_everything_set_round_trips_through_a_dict() -> None:
    full = CheckResult(
        "inv",
        FAIL,
        "1 broken",
        ({"id": 1},),
        7,
        {"m": 1.5},
        ("payments",),
        "inv: this variant exists to show it",
    )

    assert CheckResult.from_dict(json.loads(json.dumps(full.to_dict()))) == full
    assert CheckResult.from_dict({"name": "n", "verdict": "pass", "summary": "s"}) == (
        CheckResult("n", PASS, "s")
    )

"""A load that ended well before its plan is said, with Locust's reason, and never passes."""

from __future__ import annotations

import pytest

from scenarios.checks.catalog import check_load_ran_to_plan
from scenarios.checks.load_plan import (
    LOAD_RAN_TO_PLAN,
    NO_REASON,
    LoadSpan,
    early_tolerance_s,
    load_ran_to_plan,
    load_span,
    locust_reason,
)
from scenarios.checks.result import Verdict
from scenarios.checks.run import run_check
from scenarios.checks.snapshot import Evidence

# What Locust 2.47's master logged when it stopped a 120 s load at 25 s.
MISSING_LOG = """\
[2026-12-03 10:00:01,000] vm/INFO/locust.main: Starting Locust 2.47.0
[2026-12-03 10:00:20,000] vm/INFO/locust.runners: Worker vm_1a failed to send heartbeat, \
setting state to missing.
[2026-12-03 10:00:20,000] vm/INFO/locust.runners: Worker vm_2b failed to send heartbeat, \
setting state to missing.
[2026-12-03 10:00:20,001] vm/INFO/locust.runners: The last worker went missing, stopping test.
[2026-12-03 10:00:21,000] vm/INFO/locust.main: Shape test completed, shutting down
Type     Name     # reqs      # fails
POST     /holds     1200     3(0.25%)
Error report
# occurrences      Error
3                  POST /holds: HTTPError('409 Client Error')
"""


@pytest.mark.parametrize(
    ("planned_s", "tolerance_s"),
    [(10.0, 5.0), (30.0, 5.0), (50.0, 5.0), (120.0, 12.0), (600.0, 60.0)],
)
def test_the_tolerance_is_five_seconds_or_a_tenth_whichever_is_more(
    planned_s: float, tolerance_s: float
) -> None:
    assert early_tolerance_s(planned_s) == pytest.approx(tolerance_s)


@pytest.mark.parametrize(
    ("ran_s", "planned_s", "cut"),
    [
        (25.0, 120.0, True),
        (107.9, 120.0, True),
        (108.0, 120.0, False),  # exactly the tolerance early: still to plan
        (110.0, 120.0, False),
        (24.9, 30.0, True),
        (25.0, 30.0, False),
        (26.0, 30.0, False),
        (121.5, 120.0, False),  # start-up makes a full run a little longer
    ],
)
def test_a_load_is_cut_short_only_beyond_the_tolerance(
    ran_s: float, planned_s: float, cut: bool
) -> None:
    assert LoadSpan(ran_s, planned_s).cut_short is cut


def test_the_reason_is_locusts_own_lines_about_stopping() -> None:
    reason = locust_reason(MISSING_LOG, 0)
    assert reason.split(" | ") == [
        "[2026-12-03 10:00:20,000] vm/INFO/locust.runners: Worker vm_1a failed to send "
        "heartbeat, setting state to missing.",
        "[2026-12-03 10:00:20,000] vm/INFO/locust.runners: Worker vm_2b failed to send "
        "heartbeat, setting state to missing.",
        "[2026-12-03 10:00:20,001] vm/INFO/locust.runners: The last worker went missing, "
        "stopping test.",
    ]
    assert "Error report" not in reason and "409" not in reason  # refusals are not reasons


@pytest.mark.parametrize(
    "line",
    [
        "The last worker went missing, stopping test.",
        "Worker w failed to send heartbeat, setting state to missing.",
        "Shape says: stopping test",
        "Traceback (most recent call last):",
        "[t] vm/ERROR/locust.runners: RPCError found when sending heartbeat",
        "[t] vm/CRITICAL/locust.main: Unhandled exception in greenlet",
    ],
)
def test_each_kind_of_reason_line_is_found(line: str) -> None:
    assert locust_reason(f"noise\n  {line}  \nmore noise\n", 0) == line


def test_a_repeated_line_is_said_once_and_only_the_last_four_are_kept() -> None:
    lines = [f"[t] vm/ERROR/locust: failure {i}" for i in range(6)]
    text = "\n".join([lines[0], lines[0], *lines[1:]])
    assert locust_reason(text).split(" | ") == lines[2:]
    assert locust_reason("\n".join([lines[0], lines[0]])) == lines[0]


def test_a_silent_log_gives_the_exit_code() -> None:
    assert locust_reason("Starting Locust\nAll users spawned\n", -15) == (
        f"{NO_REASON} (exit code -15)"
    )


def test_a_span_cut_short_carries_the_reason_and_one_run_to_plan_none() -> None:
    cut = load_span(25.04, 120.0, MISSING_LOG, 0)
    assert cut.cut_short
    assert cut.reason == locust_reason(MISSING_LOG, 0)
    assert cut.to_dict() == {"ran_s": 25.0, "planned_s": 120.0, "reason": cut.reason}
    assert load_span(24.96, 120.0, MISSING_LOG, 0).to_dict()["ran_s"] == 25.0
    assert load_span(25.44, 120.0, MISSING_LOG, 0).to_dict()["ran_s"] == 25.4
    assert load_span(25.44, 120.0, "silent", -15).reason == f"{NO_REASON} (exit code -15)"
    assert load_span(119.0, 120.0, MISSING_LOG, 0) == LoadSpan(119.0, 120.0, "")


def test_a_load_cut_short_is_unknown_with_the_reason() -> None:
    span = load_span(25.04, 120.0, MISSING_LOG, 0)
    result = load_ran_to_plan(span)
    assert result.name == LOAD_RAN_TO_PLAN
    assert result.verdict is Verdict.UNKNOWN
    assert result.summary.startswith("load ended after 25 s of a planned 120 s: ")
    assert "The last worker went missing, stopping test." in result.summary
    assert result.metrics == {"ran_s": 25.0, "planned_s": 120.0}
    assert load_ran_to_plan(LoadSpan(25.44, 120.0, "r")).metrics["ran_s"] == 25.4


def test_a_load_run_to_plan_passes_with_its_figures() -> None:
    result = load_ran_to_plan(LoadSpan(119.96, 120.0))
    assert result.verdict is Verdict.PASS
    assert result.name == LOAD_RAN_TO_PLAN
    assert result.summary == "load ran 120 s of a planned 120 s"
    assert result.metrics == {"ran_s": 120.0, "planned_s": 120.0}


def test_an_unrecorded_span_is_unknown_never_pass() -> None:
    result = load_ran_to_plan(None)
    assert result.verdict is Verdict.UNKNOWN
    assert result.name == LOAD_RAN_TO_PLAN
    assert "not recorded" in result.summary


def test_the_catalog_check_reads_the_evidence_span() -> None:
    check = check_load_ran_to_plan()
    assert check.name == LOAD_RAN_TO_PLAN
    cut = run_check(check, Evidence(load=LoadSpan(25.0, 120.0, "went missing")))
    assert cut.verdict is Verdict.UNKNOWN and cut.summary.endswith(": went missing")
    assert run_check(check, Evidence(load=LoadSpan(120.0, 120.0))).verdict is Verdict.PASS
    assert run_check(check, Evidence()).verdict is Verdict.UNKNOWN

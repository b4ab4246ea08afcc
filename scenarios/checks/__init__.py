"""Checks: pure functions from a run's evidence to pass / fail / unknown with counterexamples.

Modules: ``result`` (verdicts, results, composition), ``snapshot`` (what checkers read),
``history`` lives one level up; ``seats``, ``money``, ``holds``, ``events`` (invariants),
``slo`` (latency, errors, throughput), ``run`` (crash-safe running, expected violations),
``catalog`` (the checks a scenario names). No module here does I/O.
"""

from scenarios.checks.catalog import (
    INVARIANT_NAMES,
    check_money_conserved,
    check_no_double_booking,
    check_no_event_lost,
    check_no_hold_past_ttl,
    check_seat_counts,
    check_slo,
    check_webhooks_applied_once,
    invariant_checks,
    invariants,
)
from scenarios.checks.result import CheckReport, CheckResult, Verdict, combine
from scenarios.checks.run import Check, expect_violation, run_check, run_checks
from scenarios.checks.slo import Slo

__all__ = [
    "INVARIANT_NAMES",
    "Check",
    "CheckReport",
    "CheckResult",
    "Slo",
    "Verdict",
    "check_money_conserved",
    "check_no_double_booking",
    "check_no_event_lost",
    "check_no_hold_past_ttl",
    "check_seat_counts",
    "check_slo",
    "check_webhooks_applied_once",
    "combine",
    "expect_violation",
    "invariant_checks",
    "invariants",
    "run_check",
    "run_checks",
]

"""The checks a scenario can name, each adapted to read what it needs from the evidence.

A check whose input was not captured (no ledger, no outbox snapshot) answers unknown,
never pass: an empty table proves nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from scenarios.checks.events import (
    NO_EVENT_LOST,
    WEBHOOKS_APPLIED_ONCE,
    no_event_lost,
    webhooks_applied_once,
)
from scenarios.checks.holds import NO_HOLD_PAST_TTL, no_hold_past_ttl
from scenarios.checks.leaks import NO_LEAK, no_leak
from scenarios.checks.load_plan import LOAD_RAN_TO_PLAN, load_ran_to_plan
from scenarios.checks.money import MONEY_CONSERVED, money_conservation
from scenarios.checks.result import CheckResult
from scenarios.checks.run import Check
from scenarios.checks.seats import (
    DEFAULT_CLAIM_SLACK_S,
    NO_DOUBLE_BOOKING,
    SEAT_COUNTS,
    no_double_booking,
    seat_counts_conserved,
)
from scenarios.checks.slo import Slo, slo_check
from scenarios.checks.snapshot import Evidence


def check_no_double_booking(slack_s: float = DEFAULT_CLAIM_SLACK_S) -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.db is None:
            return _missing(NO_DOUBLE_BOOKING, "database snapshot")
        return no_double_booking(ev.db, slack_s)

    return Check(NO_DOUBLE_BOOKING, run)


def check_seat_counts(
    capacity: Mapping[int, int] | None = None, slack_s: float = DEFAULT_CLAIM_SLACK_S
) -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.db is None:
            return _missing(SEAT_COUNTS, "database snapshot")
        return seat_counts_conserved(ev.db, capacity, slack_s)

    return Check(SEAT_COUNTS, run)


def check_money_conserved() -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.db is None:
            return _missing(MONEY_CONSERVED, "database snapshot")
        if ev.ledger is None:
            return _missing(MONEY_CONSERVED, "provider ledger")
        return money_conservation(ev.db.reservations, ev.ledger, ev.settlement)

    return Check(MONEY_CONSERVED, run)


def check_no_hold_past_ttl(grace_s: float) -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.db is None:
            return _missing(NO_HOLD_PAST_TTL, "database snapshot")
        return no_hold_past_ttl(ev.db, grace_s, ev.settlement)

    return Check(NO_HOLD_PAST_TTL, run)


def check_webhooks_applied_once() -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.ledger is None:
            return _missing(WEBHOOKS_APPLIED_ONCE, "provider ledger")
        if ev.db is None or ev.db.applied_webhooks is None:
            return _missing(WEBHOOKS_APPLIED_ONCE, "service's applied-webhook records")
        return webhooks_applied_once(ev.ledger, ev.db.applied_webhooks, ev.settlement)

    return Check(WEBHOOKS_APPLIED_ONCE, run)


def check_no_event_lost() -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.db is None or ev.db.outbox is None:
            return _missing(NO_EVENT_LOST, "outbox snapshot")
        if ev.events is None:
            return _missing(NO_EVENT_LOST, "consumer's event table")
        return no_event_lost(ev.db.outbox, ev.events, ev.settlement)

    return Check(NO_EVENT_LOST, run)


DEFAULT_LEAK_RESOURCES = ("uss_bytes", "fds")


def check_no_leak(resources: Sequence[str] = DEFAULT_LEAK_RESOURCES) -> Check:
    def run(ev: Evidence) -> CheckResult:
        if ev.workers is None:
            return _missing(NO_LEAK, "resource sample of the workers")
        if ev.window.warmup_end is None or ev.window.end is None:
            return _missing(NO_LEAK, "measured window")
        return no_leak(ev.workers, resources, ev.window.warmup_end, ev.window.end)

    return Check(NO_LEAK, run)


def check_load_ran_to_plan() -> Check:
    """Every run's: a load cut short leaves the variant unknown at best (its figures and
    its passes describe a shorter load than planned)."""
    return Check(LOAD_RAN_TO_PLAN, lambda ev: load_ran_to_plan(ev.load))


def check_slo(slo: Slo) -> Check:
    return Check(slo.name, lambda ev: slo_check(ev.history, slo, ev.window))


def invariants(
    grace_s: float,
    capacity: Mapping[int, int] | None = None,
    slack_s: float = DEFAULT_CLAIM_SLACK_S,
) -> tuple[Check, ...]:
    """The six invariants of DESIGN.md, in the order a report lists them (``no-leak``, of
    soak scenarios, is named by the scenarios that want it)."""
    return (
        check_no_double_booking(slack_s),
        check_money_conserved(),
        check_no_hold_past_ttl(grace_s),
        check_seat_counts(capacity, slack_s),
        check_webhooks_applied_once(),
        check_no_event_lost(),
    )


#: Every invariant by the name a scenario uses for it (``Scenario.invariants``).
INVARIANT_NAMES = (
    NO_DOUBLE_BOOKING,
    SEAT_COUNTS,
    NO_HOLD_PAST_TTL,
    MONEY_CONSERVED,
    WEBHOOKS_APPLIED_ONCE,
    NO_EVENT_LOST,
    NO_LEAK,
)


def invariant_checks(
    names: Iterable[str],
    *,
    grace_s: float,
    capacity: Mapping[int, int] | None = None,
    slack_s: float = DEFAULT_CLAIM_SLACK_S,
    expected_violations: Iterable[str] = (),
    why: str = "this variant exists to show it",
    leak_resources: Sequence[str] = DEFAULT_LEAK_RESOURCES,
) -> tuple[Check, ...]:
    """The named invariants, in the given order; those in ``expected_violations`` inverted.

    An unknown name (in either list) is a ValueError listing the valid ones.
    """
    names = tuple(names)
    expected = tuple(expected_violations)
    unknown = [n for n in (*names, *expected) if n not in INVARIANT_NAMES]
    if unknown:
        raise ValueError(
            f"unknown invariant(s) {', '.join(unknown)}; known: {', '.join(INVARIANT_NAMES)}"
        )
    every = (*invariants(grace_s, capacity, slack_s), check_no_leak(leak_resources))
    by_name = {c.name: c for c in every}
    return tuple(
        by_name[n].expecting(f"{n}: {why}") if n in expected else by_name[n]
        for n in dict.fromkeys((*names, *expected))
    )


def _missing(name: str, what: str) -> CheckResult:
    return CheckResult.unknown(name, f"no {what} was captured")

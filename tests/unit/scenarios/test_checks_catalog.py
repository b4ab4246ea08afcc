"""The catalog hands each checker exactly the evidence and settings it was built with.

One piece of evidence where every setting changes the answer (the slack, the grace, the
capacity, what did not settle), so a check that dropped or swapped one would differ from
calling its checker directly.
"""

from __future__ import annotations

import pytest

from scenarios.checks.catalog import (
    INVARIANT_NAMES,
    check_money_conserved,
    check_no_double_booking,
    check_no_event_lost,
    check_no_hold_past_ttl,
    check_no_leak,
    check_seat_counts,
    check_slo,
    check_webhooks_applied_once,
    invariant_checks,
    invariants,
)
from scenarios.checks.events import no_event_lost, webhooks_applied_once
from scenarios.checks.holds import no_hold_past_ttl
from scenarios.checks.leaks import no_leak
from scenarios.checks.money import money_conservation
from scenarios.checks.result import CheckResult, Verdict
from scenarios.checks.run import Check, run_check
from scenarios.checks.seats import no_double_booking, seat_counts_conserved
from scenarios.checks.slo import Slo, slo_check
from scenarios.checks.snapshot import (
    CONSUMER,
    EXPIRIES,
    OUTBOX,
    PAYMENTS,
    WEBHOOKS,
    AppliedWebhook,
    DbState,
    Evidence,
    HoldRow,
    HoldSeatRow,
    Ledger,
    LedgerPayment,
    MeasuredWindow,
    OutboxEvent,
    ReceivedEvent,
    ReceivedEvents,
    ReservationRow,
    SeatRow,
    Settlement,
    WebhookDelivery,
)
from scenarios.history import History, Operation, Outcome

GRACE, SLACK, CAPACITY = 1.0, 1.0, {1: 4}

DB = DbState(
    checked_at=203.0,
    seats=(SeatRow(1, 1, "HELD", 2), SeatRow(2, 1, "SOLD", 3), SeatRow(3, 1, "AVAILABLE")),
    holds=(
        HoldRow(1, 1, 1, "RELEASED", 100, 100.0, 200.0, 106.0, "member"),
        HoldRow(2, 1, 2, "ACTIVE", 100, 103.0, 200.0),  # 3 s overlap; 3 s past expiry
        HoldRow(3, 1, 3, "CONVERTED", 100, 50.0, 150.0, 60.0, "conversion"),
    ),
    hold_seats=(
        HoldSeatRow(1, 1, 1, 1, 100, 106.0),
        HoldSeatRow(2, 2, 1, 1, 100),
        HoldSeatRow(3, 3, 2, 1, 100),
    ),
    reservations=(ReservationRow(9, 3, 3, 1, "ord_3", 100, "CONFIRMED", 60.0, 150.0, 70.0),),
    outbox=(OutboxEvent("ev1", "hold.created", 101.0),),
    applied_webhooks=(AppliedWebhook("wh1"),),
)
LEDGER = Ledger(
    payments=(LedgerPayment("pay_3", "ord_3", "DONE", 100, 100),),
    deliveries=(WebhookDelivery("wh1", 1, 200),),
)
# One worker whose descriptors grow by one a second while its memory stays flat, so the
# resources the no-leak check watches change its answer.
WORKERS = tuple(
    {
        "t": float(t),
        "pid": 7,
        "role": "service",
        "kind": "worker",
        "fds": 20.0 + t,
        "uss_bytes": 50e6,
    }
    for t in range(60)
)
WINDOW = MeasuredWindow(0.0, 59.0)
LEAK_RESOURCES = ("fds",)
UNSETTLED = Settlement({n: "busy" for n in (EXPIRIES, PAYMENTS, WEBHOOKS, OUTBOX, CONSUMER)})
EVIDENCE = Evidence(
    db=DB,
    ledger=LEDGER,
    events=ReceivedEvents((ReceivedEvent("ev1", "hold.created"),)),
    settlement=UNSETTLED,
    workers=WORKERS,
    window=WINDOW,
)

DIRECT = {
    "no-double-booking": lambda ev: no_double_booking(ev.db, SLACK),
    "seat-counts-conserved": lambda ev: seat_counts_conserved(ev.db, CAPACITY, SLACK),
    "no-hold-past-ttl": lambda ev: no_hold_past_ttl(ev.db, GRACE, ev.settlement),
    "money-conserved": lambda ev: money_conservation(ev.db.reservations, ev.ledger, ev.settlement),
    "webhooks-applied-once": lambda ev: webhooks_applied_once(
        ev.ledger, ev.db.applied_webhooks, ev.settlement
    ),
    "no-event-lost": lambda ev: no_event_lost(ev.db.outbox, ev.events, ev.settlement),
    "no-leak": lambda ev: no_leak(ev.workers, LEAK_RESOURCES, 0.0, 59.0),
}
DEFAULTS = {
    "no-double-booking": lambda ev: no_double_booking(ev.db),
    "seat-counts-conserved": lambda ev: seat_counts_conserved(ev.db),
    "no-hold-past-ttl": lambda ev: no_hold_past_ttl(ev.db, 10.0),
    "money-conserved": lambda ev: money_conservation(ev.db.reservations, ev.ledger),
    "webhooks-applied-once": lambda ev: webhooks_applied_once(ev.ledger, ev.db.applied_webhooks),
    "no-event-lost": lambda ev: no_event_lost(ev.db.outbox, ev.events),
    "no-leak": lambda ev: no_leak(ev.workers, ("uss_bytes",), 0.0, 59.0),
}


def built(name: str) -> Check:
    """Built when a test runs, not at import, so each test sees the catalog as it is then."""
    return {
        "no-double-booking": lambda: check_no_double_booking(SLACK),
        "seat-counts-conserved": lambda: check_seat_counts(CAPACITY, SLACK),
        "no-hold-past-ttl": lambda: check_no_hold_past_ttl(GRACE),
        "money-conserved": check_money_conserved,
        "webhooks-applied-once": check_webhooks_applied_once,
        "no-event-lost": check_no_event_lost,
        "no-leak": lambda: check_no_leak(LEAK_RESOURCES),
    }[name]()


@pytest.mark.parametrize("name", INVARIANT_NAMES)
def test_the_evidence_is_one_where_every_setting_changes_the_answer(name: str) -> None:
    assert DIRECT[name](EVIDENCE) != DEFAULTS[name](EVIDENCE)


@pytest.mark.parametrize("name", INVARIANT_NAMES)
def test_each_check_runs_its_checker_with_its_settings_and_the_evidence(name: str) -> None:
    check = built(name)

    assert check.name == name
    assert check.run(EVIDENCE) == DIRECT[name](EVIDENCE)


def test_the_six_invariants_come_in_report_order_with_their_settings() -> None:
    checks = invariants(GRACE, CAPACITY, SLACK)

    assert [c.name for c in checks] == [
        "no-double-booking",
        "money-conserved",
        "no-hold-past-ttl",
        "seat-counts-conserved",
        "webhooks-applied-once",
        "no-event-lost",
    ]
    assert [c.run(EVIDENCE) for c in checks] == [DIRECT[c.name](EVIDENCE) for c in checks]


def test_named_invariants_keep_their_settings_and_invert_the_expected_ones() -> None:
    checks = invariant_checks(
        ["no-hold-past-ttl", "seat-counts-conserved", "no-leak"],
        grace_s=GRACE,
        capacity=CAPACITY,
        slack_s=SLACK,
        expected_violations=["no-double-booking", "no-hold-past-ttl"],
        why="naive oversells",
        leak_resources=LEAK_RESOURCES,
    )

    assert [(c.name, c.expected_violation) for c in checks] == [
        ("no-hold-past-ttl", "no-hold-past-ttl: naive oversells"),
        ("seat-counts-conserved", None),
        ("no-leak", None),
        ("no-double-booking", "no-double-booking: naive oversells"),
    ]
    assert [c.run(EVIDENCE) for c in checks] == [DIRECT[c.name](EVIDENCE) for c in checks]


def test_an_unknown_invariant_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError) as caught:
        invariant_checks(["no-double-booking"], grace_s=1, expected_violations=["nope"])

    assert str(caught.value) == "unknown invariant(s) nope; known: " + ", ".join(INVARIANT_NAMES)


def missing(name: str, what: str) -> CheckResult:
    return CheckResult(name, Verdict.UNKNOWN, f"no {what} was captured")


@pytest.mark.parametrize(
    ("name", "evidence", "what"),
    [
        ("no-double-booking", Evidence(ledger=LEDGER), "database snapshot"),
        ("seat-counts-conserved", Evidence(ledger=LEDGER), "database snapshot"),
        ("no-hold-past-ttl", Evidence(ledger=LEDGER), "database snapshot"),
        ("money-conserved", Evidence(ledger=LEDGER), "database snapshot"),
        ("money-conserved", Evidence(db=DB), "provider ledger"),
        ("webhooks-applied-once", Evidence(db=DB), "provider ledger"),
        ("webhooks-applied-once", Evidence(ledger=LEDGER), "service's applied-webhook records"),
        (
            "webhooks-applied-once",
            Evidence(db=DbState(1.0), ledger=LEDGER),
            "service's applied-webhook records",
        ),
        ("no-event-lost", Evidence(events=ReceivedEvents()), "outbox snapshot"),
        ("no-event-lost", Evidence(db=DbState(1.0), events=ReceivedEvents()), "outbox snapshot"),
        ("no-event-lost", Evidence(db=DB), "consumer's event table"),
        ("no-leak", Evidence(db=DB), "resource sample of the workers"),
        ("no-leak", Evidence(workers=WORKERS), "measured window"),
        ("no-leak", Evidence(workers=WORKERS, window=MeasuredWindow(end=59.0)), "measured window"),
        (
            "no-leak",
            Evidence(workers=WORKERS, window=MeasuredWindow(warmup_end=0.0)),
            "measured window",
        ),
    ],
)
def test_evidence_that_was_not_captured_makes_a_check_unknown_and_says_what(
    name: str, evidence: Evidence, what: str
) -> None:
    assert built(name).run(evidence) == missing(name, what)


def test_an_slo_check_is_named_for_its_slo_and_measures_only_the_window() -> None:
    ops = [
        Operation("hold", "u", t, t + latency, Outcome.OK, status=201)
        for t, latency in ((1.0, 5.0), (11.0, 0.01), (12.0, 0.02))
    ]
    evidence = Evidence(history=History.of(ops), window=MeasuredWindow(warmup_end=10.0))
    slo = Slo("hold", p99_ms=100)
    check = check_slo(slo)

    assert check == Check("slo:hold", check.run)
    assert check.run(evidence) == slo_check(evidence.history, slo, evidence.window)
    assert run_check(check, evidence).verdict is Verdict.PASS

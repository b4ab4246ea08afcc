"""Every invariant checker against worlds with a known truth (see ``booking_model``).

Clean worlds pass every invariant; a world with one planted violation fails the check
that guards against it, with a counterexample naming the problem; a clean world with
something unsettled is unknown for the checks that depend on it, and never fails.
"""

from __future__ import annotations

from hypothesis import assume, given
from hypothesis import strategies as st

from scenarios.checks.result import Verdict
from scenarios.checks.snapshot import (
    CONSUMER,
    EXPIRIES,
    OUTBOX,
    PAYMENTS,
    WEBHOOKS,
    LedgerPayment,
    OutboxEvent,
    Settlement,
)
from tests.unit.scenarios.booking_model import PLANTS, HoldPlan, World, build, worlds

INVARIANTS = (
    "no-double-booking",
    "money-conserved",
    "no-hold-past-ttl",
    "seat-counts-conserved",
    "webhooks-applied-once",
    "no-event-lost",
)


def verdicts(world: World) -> dict[str, Verdict]:
    return {r.name: r.verdict for r in world.check().results}


@given(worlds())
def test_a_world_a_correct_service_leaves_passes_every_invariant(world: World) -> None:
    report = world.check()

    assert {r.name: r.summary for r in report.results if not r.passed} == {}
    assert [r.name for r in report.results] == list(INVARIANTS)


@given(worlds(), st.sampled_from(sorted(PLANTS)), st.data())
def test_a_planted_violation_fails_its_check_and_is_named(
    world: World, kind: str, data: st.DataObject
) -> None:
    planted = PLANTS[kind](world, data.draw)
    assume(planted is not None)  # else nothing of that kind in this world to break
    assert planted is not None
    result = world.check().by_name()[planted.check]

    assert result.verdict is Verdict.FAIL, result.summary
    assert any(
        planted.problem in str(c.get("problem", ""))
        and all(c.get(k) == v for k, v in planted.where.items())
        for c in result.counterexamples
    ), result.counterexamples


MESSAGE_PLANTS = [k for k in sorted(PLANTS) if k.startswith(("webhook ", "event "))]


@given(worlds(), st.sampled_from(MESSAGE_PLANTS), st.data())
def test_a_planted_message_violation_leaves_the_other_checks_alone(
    world: World, kind: str, data: st.DataObject
) -> None:
    planted = PLANTS[kind](world, data.draw)
    assume(planted is not None)
    assert planted is not None
    others = {n: v for n, v in verdicts(world).items() if n != planted.check}

    assert others == dict.fromkeys(others, Verdict.PASS)


UNSETTLED = {
    EXPIRIES: {"no-hold-past-ttl"},
    PAYMENTS: {"money-conserved"},
    WEBHOOKS: {"money-conserved", "webhooks-applied-once"},
    OUTBOX: {"no-event-lost"},
    CONSUMER: {"no-event-lost"},
}


@given(worlds(), st.sampled_from(sorted(UNSETTLED)))
def test_what_did_not_settle_makes_exactly_its_checks_unknown(world: World, name: str) -> None:
    world.settlement = Settlement({name: "still busy"})

    got = verdicts(world)

    assert {n for n, v in got.items() if v is Verdict.UNKNOWN} == UNSETTLED[name]
    assert Verdict.FAIL not in got.values()


@given(worlds(), st.integers(1, 3))
def test_webhook_chains_still_retrying_make_webhooks_and_money_unknown(
    world: World, pending: int
) -> None:
    world.pending_deliveries = pending

    got = verdicts(world)

    assert {n for n, v in got.items() if v is Verdict.UNKNOWN} == {
        "money-conserved",
        "webhooks-applied-once",
    }


@given(worlds())
def test_a_payment_in_flight_makes_money_unknown_even_with_a_discrepancy(world: World) -> None:
    world.payments.append(LedgerPayment("pay_in_flight", "ord_in_flight", "IN_PROGRESS", 100))
    world.payments.append(LedgerPayment("pay_stray", "ord_stray", "DONE", 100, 100))

    result = world.check().by_name()["money-conserved"]

    assert result.verdict is Verdict.UNKNOWN
    assert [c["problem"] for c in result.counterexamples][:1] == [
        "captured with no reservation, not refunded"
    ]


@given(worlds())
def test_an_unpublished_event_is_a_possible_loss_not_a_failure(world: World) -> None:
    world.outbox.append(OutboxEvent("evt-unpublished", "hold.released", None))

    result = world.check().by_name()["no-event-lost"]

    assert result.verdict is Verdict.UNKNOWN
    assert result.counterexamples[-1]["event_id"] == "evt-unpublished"
    assert "1 events still unpublished" in result.summary


@given(worlds(), st.sampled_from([OUTBOX, CONSUMER]))
def test_an_event_published_but_not_received_while_unsettled_is_only_possible(
    world: World, name: str
) -> None:
    assume(world.received)
    lost = world.received.pop()
    world.settlement = Settlement({name: "catching up"})

    result = world.check().by_name()["no-event-lost"]

    assert result.verdict is Verdict.UNKNOWN
    assert {"event_id": lost.event_id, "problem": "published, never received"}.items() <= (
        result.counterexamples[0].items()
    )


def test_a_model_world_has_every_fate_it_was_asked_for() -> None:
    plans = [
        HoldPlan((i,), fate, 30.0, 1.0, (500, 200), False)
        for i, fate in enumerate(
            [
                "active",
                "member-released",
                "expired-consumer",
                "expired-sweeper",
                "awaiting",
                "confirmed",
                "reservation-expired",
                "reservation-canceled",
            ]
        )
    ]
    world = build(8, plans)

    assert [h.status for h in world.holds] == [
        "ACTIVE",
        "RELEASED",
        "RELEASED",
        "RELEASED",
        *["CONVERTED"] * 4,
    ]
    assert [r.status for r in world.reservations] == [
        "AWAITING_PAYMENT",
        "CONFIRMED",
        "EXPIRED",
        "CANCELED",
    ]
    assert sorted(s.status for s in world.seats.values()) == [
        *["AVAILABLE"] * 5,
        "HELD",
        "RESERVED",
        "SOLD",
    ]
    assert verdicts(world) == dict.fromkeys(INVARIANTS, Verdict.PASS)

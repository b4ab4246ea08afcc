"""Every webhook applied once; no domain event lost."""

from __future__ import annotations

import pytest

from scenarios.checks.catalog import check_no_event_lost, check_webhooks_applied_once
from scenarios.checks.events import no_event_lost, webhooks_applied_once
from scenarios.checks.result import Verdict
from scenarios.checks.run import run_check
from scenarios.checks.snapshot import (
    CONSUMER,
    OUTBOX,
    WEBHOOKS,
    AppliedWebhook,
    DbState,
    Evidence,
    Ledger,
    OutboxEvent,
    ReceivedEvent,
    ReceivedEvents,
    Settlement,
    WebhookDelivery,
)


def delivered(event_id: str, *codes: int | None) -> tuple[WebhookDelivery, ...]:
    return tuple(WebhookDelivery(event_id, i, code) for i, code in enumerate(codes, start=1))


def ledger(*deliveries: tuple[WebhookDelivery, ...]) -> Ledger:
    return Ledger(deliveries=tuple(d for group in deliveries for d in group))


# ---- webhooks ----------------------------------------------------------------------------


def test_a_webhook_redelivered_and_applied_once_passes() -> None:
    result = webhooks_applied_once(
        ledger(delivered("e1", 500, None, 200, 200), delivered("e2", 200)),
        [AppliedWebhook("e1"), AppliedWebhook("e2")],
    )

    assert result.verdict is Verdict.PASS
    assert result.metrics["deliveries"] == 5


def test_a_webhook_applied_twice_is_a_counterexample() -> None:
    result = webhooks_applied_once(
        ledger(delivered("e1", 200, 200)), [AppliedWebhook("e1"), AppliedWebhook("e1")]
    )

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0] == {
        "event_id": "e1",
        "problem": "applied 2 times",
        "times_applied": 2,
        "deliveries": 2,
    }


def test_an_application_count_is_summed_per_event() -> None:
    result = webhooks_applied_once(ledger(delivered("e1", 200)), [AppliedWebhook("e1", 3)])

    assert result.counterexamples[0]["problem"] == "applied 3 times"


def test_a_webhook_acknowledged_but_never_applied_is_a_counterexample() -> None:
    result = webhooks_applied_once(ledger(delivered("e1", 200)), [])

    assert result.counterexamples[0]["problem"] == "acknowledged but never applied"


def test_a_webhook_applied_that_the_provider_never_sent_is_a_counterexample() -> None:
    result = webhooks_applied_once(ledger(), [AppliedWebhook("forged")])

    assert result.counterexamples[0]["problem"] == "applied but never sent by the provider"


def test_a_webhook_no_delivery_of_which_succeeded_is_left_to_reconciliation() -> None:
    result = webhooks_applied_once(ledger(delivered("e1", 500, 500, None)), [])

    assert result.verdict is Verdict.PASS
    assert result.metrics["events_never_acknowledged"] == 1


def test_webhook_retries_still_pending_make_the_check_unknown() -> None:
    result = webhooks_applied_once(
        ledger(delivered("e1", 500)), [], Settlement({WEBHOOKS: "e1 retries at +40 s"})
    )

    assert result.verdict is Verdict.UNKNOWN


def test_without_applied_webhook_records_the_webhook_check_is_unknown() -> None:
    evidence = Evidence(db=DbState(checked_at=0.0), ledger=Ledger())

    assert run_check(check_webhooks_applied_once(), evidence).verdict is Verdict.UNKNOWN


# ---- outbox → consumer ----------------------------------------------------------------


def outbox(*ids: str, published: bool = True) -> list[OutboxEvent]:
    return [OutboxEvent(i, "HoldCreated", 5.0 if published else None) for i in ids]


def received(*ids: str) -> ReceivedEvents:
    return ReceivedEvents(tuple(ReceivedEvent(i, "HoldCreated", 6.0) for i in ids))


def test_every_published_event_received_once_passes() -> None:
    assert no_event_lost(outbox("a", "b"), received("b", "a")).verdict is Verdict.PASS


def test_a_published_event_never_received_is_lost() -> None:
    result = no_event_lost(outbox("a", "b"), received("a"))

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["event_id"] == "b"
    assert result.counterexamples[0]["problem"] == "published, never received"


def test_an_event_received_twice_is_a_counterexample() -> None:
    result = no_event_lost(outbox("a"), received("a", "a"))

    assert result.verdict is Verdict.FAIL
    assert result.counterexamples[0]["problem"] == "received 2 times"


def test_an_event_received_but_absent_from_the_outbox_is_a_counterexample() -> None:
    result = no_event_lost(outbox("a"), received("a", "ghost"))

    assert result.counterexamples[0]["problem"] == "received, not in the outbox"


def test_a_missing_event_while_the_consumer_lags_is_unknown() -> None:
    result = no_event_lost(outbox("a", "b"), received("a"), Settlement({CONSUMER: "queue depth 1"}))

    assert result.verdict is Verdict.UNKNOWN
    assert result.counterexamples[0]["event_id"] == "b"


def test_an_event_still_in_the_outbox_is_unknown_even_if_reported_drained() -> None:
    result = no_event_lost(outbox("a") + outbox("b", published=False), received("a"))

    assert result.verdict is Verdict.UNKNOWN
    assert result.unsettled == (OUTBOX,)
    assert result.counterexamples[0]["problem"] == "never published"


def test_without_the_consumer_table_no_event_lost_is_unknown() -> None:
    evidence = Evidence(db=DbState(checked_at=0.0, outbox=()))

    result = run_check(check_no_event_lost(), evidence)

    assert result.verdict is Verdict.UNKNOWN
    assert "consumer" in result.summary


def test_delivery_chains_still_retrying_at_the_provider_make_the_check_unknown() -> None:
    pending = Ledger(deliveries=delivered("e1", 200), pending_deliveries=2)

    result = webhooks_applied_once(pending, [AppliedWebhook("e1")])

    assert result.verdict is Verdict.UNKNOWN
    assert "2 delivery chains still retrying" in result.summary


def test_the_providers_ledger_json_parses_into_payments_and_deliveries() -> None:
    data = {
        "payments": [
            {
                "paymentKey": "pk",
                "orderId": "ord_1",
                "status": "CANCELED",
                "totalAmount": 300,
                "capturedAmount": 300,
                "refundedAmount": 300,
            }
        ],
        "webhooks": [
            {
                "eventId": "e1",
                "paymentKey": "pk",
                "attempt": 2,
                "responseStatus": 200,
                "at": "1970-01-01T00:00:10.500+00:00",
            }
        ],
        "pendingDeliveries": 1,
    }

    parsed = Ledger.from_psp(data)

    assert parsed.payments[0].net == 0
    assert parsed.deliveries == (WebhookDelivery("e1", 2, 200, "pk", 10.5),)
    assert parsed.pending_deliveries == 1


# ---- violations after clean events; exact results ---------------------------------------


def test_every_webhook_problem_is_found_after_clean_events() -> None:
    result = webhooks_applied_once(
        ledger(
            delivered("a", 200),  # clean
            delivered("b", 500),  # never acknowledged, never applied: fine
            delivered("c", 200),  # applied twice
            delivered("d", 500, 200),  # acknowledged, never applied
        ),
        [AppliedWebhook("a"), AppliedWebhook("c"), AppliedWebhook("c"), AppliedWebhook("e")],
    )

    assert result.counterexamples == (
        {"event_id": "c", "problem": "applied 2 times", "times_applied": 2, "deliveries": 1},
        {
            "event_id": "d",
            "problem": "acknowledged but never applied",
            "times_applied": 0,
            "deliveries": 2,
        },
        {
            "event_id": "e",
            "problem": "applied but never sent by the provider",
            "times_applied": 1,
            "deliveries": 0,
        },
    )
    assert (result.name, result.summary) == (
        "webhooks-applied-once",
        "3 webhook events not applied exactly once",
    )
    assert result.metrics == {
        "events_sent": 4,
        "events_acknowledged": 3,
        "deliveries": 5,
        "applications": 4,
        "events_never_acknowledged": 1,
        "pending_deliveries": 0,
    }


def test_a_record_of_zero_applications_of_an_unsent_event_is_no_application() -> None:
    result = webhooks_applied_once(ledger(), [AppliedWebhook("x", times_applied=0)])

    assert (result.verdict, result.summary) == (
        Verdict.PASS,
        "no webhook events not applied exactly once",
    )


def test_applications_counted_in_one_row_are_summed() -> None:
    result = webhooks_applied_once(
        ledger(delivered("a", 200)), [AppliedWebhook("a", times_applied=3)]
    )

    assert [c["problem"] for c in result.counterexamples] == ["applied 3 times"]


def test_retrying_webhooks_without_a_reported_reason_say_how_many() -> None:
    result = webhooks_applied_once(
        Ledger(deliveries=delivered("a", 200), pending_deliveries=2), [AppliedWebhook("a")]
    )

    assert result.summary == "not settled (webhooks: 2 delivery chains still retrying)"
    assert result.metrics["pending_deliveries"] == 2


def test_every_event_problem_is_found_after_clean_events() -> None:
    outbox = [
        OutboxEvent("e1", "hold.created", 1.0),  # clean
        OutboxEvent("e2", "hold.created", 2.0),  # received twice
        OutboxEvent("e3", "hold.released", 3.0),  # never received
        OutboxEvent("e4", "hold.released", None),  # never published
    ]
    received = ReceivedEvents(
        (
            ReceivedEvent("e1", deliveries=2),
            ReceivedEvent("e2"),
            ReceivedEvent("e2"),
            ReceivedEvent("e9"),
        )
    )

    result = no_event_lost(outbox, received)

    assert result.counterexamples == (
        {"event_id": "e2", "type": "hold.created", "problem": "received 2 times"},
        {
            "event_id": "e3",
            "type": "hold.released",
            "problem": "published, never received",
            "published_at": 3.0,
        },
        {"event_id": "e9", "problem": "received, not in the outbox", "times_received": 1},
        {"event_id": "e4", "type": "hold.released", "problem": "never published"},
    )
    assert (result.name, result.verdict, result.summary) == (
        "no-event-lost",
        Verdict.FAIL,
        "3 events not received exactly once",
    )
    assert result.unsettled == (OUTBOX,)
    assert result.metrics == {
        "outbox_events": 4,
        "unpublished": 1,
        "received_rows": 4,
        "received_distinct": 3,
        "redelivered": 1,
    }


@pytest.mark.parametrize("name", [OUTBOX, CONSUMER])
def test_a_missing_event_while_outbox_or_consumer_is_unsettled_is_only_possible(
    name: str,
) -> None:
    result = no_event_lost(
        [OutboxEvent("e1", "hold.created", 1.0)],
        ReceivedEvents(),
        Settlement({name: "draining", WEBHOOKS: "unrelated"}),
    )

    assert (result.verdict, result.unsettled) == (Verdict.UNKNOWN, (name,))
    assert result.summary == (
        f"1 possible events not received exactly once, not settled ({name}: draining)"
    )


def test_unpublished_events_say_how_many() -> None:
    result = no_event_lost(
        [OutboxEvent("e1"), OutboxEvent("e2"), OutboxEvent("e3", published_at=1.0)],
        ReceivedEvents((ReceivedEvent("e3"),)),
    )

    assert result.summary == (
        "2 possible events not received exactly once, not settled (outbox: 2 events still "
        "unpublished)"
    )
    assert result.metrics["unpublished"] == 2

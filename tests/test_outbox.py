"""The outbox write: an event commits with its transaction, or not at all; the envelope.

Real MariaDB for the writes; the envelope tests are pure.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum

import pytest

from service.adapters.db import Database
from service.adapters.outbox import record_event, unpublished_count
from service.domain import events
from service.domain.events import EventEnvelope, MalformedEvent
from service.http.telemetry import request_id_var


class Colour(StrEnum):
    RED = "red"


async def outbox_row(db: Database, event_id: str) -> dict | None:
    return await db.fetch_one("SELECT * FROM outbox WHERE id = %s", (event_id,))


async def test_an_event_commits_with_its_transaction(db: Database) -> None:
    async with db.transaction() as cur:
        event_id = await record_event(cur, events.HOLD_CREATED, "42", {"seats": [1, 2]}, "req-1")
    row = await outbox_row(db, event_id)
    assert row is not None
    assert uuid.UUID(event_id).version == 4
    assert row["type"] == "hold.created"
    assert row["aggregate_id"] == "42"
    assert row["correlation_id"] == "req-1"
    assert row["published_at"] is None
    assert json.loads(row["payload"]) == {"seats": [1, 2]}


async def test_an_event_written_in_a_rolled_back_transaction_never_appears(db: Database) -> None:
    written: list[str] = []
    with pytest.raises(RuntimeError):
        async with db.transaction() as cur:
            written.append(await record_event(cur, events.HOLD_RELEASED, "7", {}))
            raise RuntimeError("the change failed after its event was written")
    assert len(written) == 1
    assert await outbox_row(db, written[0]) is None


async def test_the_correlation_id_defaults_to_the_current_request_id(db: Database) -> None:
    token = request_id_var.set("abc-123")
    try:
        async with db.transaction() as cur:
            with_request = await record_event(cur, events.HOLD_CREATED, "1", {})
    finally:
        request_id_var.reset(token)
    async with db.transaction() as cur:
        without_request = await record_event(cur, events.HOLD_CREATED, "1", {})
    first, second = await outbox_row(db, with_request), await outbox_row(db, without_request)
    assert first is not None and first["correlation_id"] == "abc-123"
    assert second is not None and second["correlation_id"] is None


async def test_payloads_with_domain_values_are_stored_as_plain_json(db: Database) -> None:
    moment = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    async with db.transaction() as cur:
        event_id = await record_event(
            cur, events.PAYMENT_CAPTURED, "pk_1", {"at": moment, "colour": Colour.RED}
        )
        assert await unpublished_count(cur) >= 1
    row = await outbox_row(db, event_id)
    assert row is not None
    assert json.loads(row["payload"]) == {"at": "2030-01-02T03:04:05+00:00", "colour": "red"}


async def test_a_malformed_event_type_is_refused_before_the_insert(db: Database) -> None:
    async with db.transaction() as cur:
        with pytest.raises(ValueError, match=r"noun\.verb"):
            await record_event(cur, "Hold Created", "1", {})


# ---- the envelope (pure) --------------------------------------------------------------


def test_the_envelope_round_trips_through_json() -> None:
    envelope = EventEnvelope.new(
        events.RESERVATION_EXPIRED, 9, {"hold_id": 3}, correlation_id="r-9"
    )
    again = EventEnvelope.from_json(envelope.to_json())
    assert again == envelope
    assert again.aggregate_id == "9"
    assert again.occurred_at.tzinfo is not None


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[]",
        b'{"id": "x", "type": "hold.created"}',
        json.dumps(
            {"id": str(uuid.uuid4()), "type": "Bad", "aggregate_id": "1", "occurred_at": "x"}
        ).encode(),
        json.dumps(
            {
                "id": str(uuid.uuid4()),
                "type": "hold.created",
                "aggregate_id": "1",
                "occurred_at": "2030-01-01T00:00:00+00:00",
                "payload": [],
            }
        ).encode(),
    ],
)
def test_a_malformed_envelope_is_named_as_such(body: bytes) -> None:
    with pytest.raises(MalformedEvent):
        EventEnvelope.from_json(body)


def test_every_named_event_type_is_a_valid_routing_key() -> None:
    for name in events.EVENT_TYPES:
        assert events.check_event_type(name) == name

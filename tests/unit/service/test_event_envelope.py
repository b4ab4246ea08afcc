"""The event envelope: it round-trips, malformed bodies are named, the wire body is documented."""

from __future__ import annotations

import json
import uuid

import pytest

from service.adapters.amqp import message_of
from service.domain import events
from service.domain.events import EventEnvelope, MalformedEvent


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


def test_the_envelope_body_is_json_with_the_documented_fields() -> None:
    envelope = EventEnvelope.new(events.HOLD_CREATED, 1, {"seats": [3]}, correlation_id="c")
    body = json.loads(message_of(envelope).body)
    assert set(body) == {
        "version",
        "id",
        "type",
        "occurred_at",
        "aggregate_id",
        "correlation_id",
        "payload",
    }

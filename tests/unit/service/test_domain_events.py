"""Domain events directly: type names, payload JSON, the envelope's limits and its parsing."""

from __future__ import annotations

import enum
import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from service.domain.events import (
    HOLD_CREATED,
    MAX_AGGREGATE_ID_LENGTH,
    MAX_CORRELATION_ID_LENGTH,
    MAX_TYPE_LENGTH,
    EventEnvelope,
    MalformedEvent,
    check_event_type,
    payload_json,
)

SEOUL = timezone(timedelta(hours=9))
AT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


class Colour(enum.Enum):
    RED = "red"


def test_an_event_type_at_the_length_limit_is_accepted_and_one_longer_is_not() -> None:
    at_limit = "a." + "b" * (MAX_TYPE_LENGTH - 2)

    assert check_event_type(at_limit) == at_limit
    with pytest.raises(ValueError, match=r"noun\.verb"):
        check_event_type(at_limit + "b")


@pytest.mark.parametrize("bad", ["hold", "Hold.created", "hold.", ".created", "hold created"])
def test_an_event_type_that_is_no_routing_key_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad)):
        check_event_type(bad)


def test_a_payload_is_canonical_json_with_domain_values_made_plain() -> None:
    payload = {
        "b": Decimal("1.50"),
        "a": datetime(2030, 1, 2, 12, 0, tzinfo=SEOUL),
        "naive": datetime(2030, 1, 2, 3, 0),
        "day": date(2030, 1, 2),
        "colour": Colour.RED,
        "seats": (3, 1),
        "tags": frozenset({"x"}),
    }

    assert payload_json(payload) == (
        '{"a":"2030-01-02T03:00:00+00:00","b":"1.50","colour":"red","day":"2030-01-02",'
        '"naive":"2030-01-02T03:00:00+00:00","seats":[3,1],"tags":["x"]}'
    )


def test_a_payload_value_json_cannot_hold_is_named() -> None:
    with pytest.raises(TypeError, match=r"^object is not JSON serialisable in an event payload$"):
        payload_json({"x": object()})


def test_a_new_envelope_has_a_fresh_uuid_and_keeps_what_it_was_given() -> None:
    one = EventEnvelope.new(HOLD_CREATED, 7, {"k": 1}, correlation_id="req-1", occurred_at=AT)
    two = EventEnvelope.new(HOLD_CREATED, 7, {"k": 1}, correlation_id="req-1", occurred_at=AT)

    assert uuid.UUID(one.id).version == 4
    assert one.id != two.id
    assert (one.type, one.aggregate_id, one.payload, one.correlation_id, one.occurred_at) == (
        HOLD_CREATED,
        "7",
        {"k": 1},
        "req-1",
        AT,
    )


def test_a_naive_occurrence_time_is_taken_as_utc_and_none_means_now() -> None:
    naive = EventEnvelope.new(HOLD_CREATED, 1, occurred_at=datetime(2030, 1, 2, 3, 4, 5))
    before = datetime.now(UTC)
    now = EventEnvelope.new(HOLD_CREATED, 1)

    assert naive.occurred_at == AT
    assert now.occurred_at.tzinfo is not None
    assert before <= now.occurred_at <= datetime.now(UTC)
    assert now.payload == {}
    assert now.correlation_id is None


def test_an_aggregate_id_must_be_1_to_64_characters() -> None:
    assert EventEnvelope.new(HOLD_CREATED, "x" * MAX_AGGREGATE_ID_LENGTH).aggregate_id == (
        "x" * MAX_AGGREGATE_ID_LENGTH
    )
    for bad in ("", "x" * (MAX_AGGREGATE_ID_LENGTH + 1)):
        with pytest.raises(ValueError, match=r"1\.\.64"):
            EventEnvelope.new(HOLD_CREATED, bad)


def test_a_long_correlation_id_is_cut_and_an_empty_one_is_none() -> None:
    long = "c" * (MAX_CORRELATION_ID_LENGTH + 10)

    assert EventEnvelope.new(HOLD_CREATED, 1, correlation_id=long).correlation_id == (
        "c" * MAX_CORRELATION_ID_LENGTH
    )
    assert EventEnvelope.new(HOLD_CREATED, 1, correlation_id="").correlation_id is None


def test_the_wire_body_is_compact_sorted_json_in_utc() -> None:
    envelope = EventEnvelope(
        id="00000000-0000-4000-8000-000000000001",
        type=HOLD_CREATED,
        occurred_at=datetime(2030, 1, 2, 12, 4, 5, tzinfo=SEOUL),
        aggregate_id="9",
        payload={"z": 1, "a": Decimal("2")},
        correlation_id=None,
    )

    assert envelope.to_json() == (
        b'{"aggregate_id":"9","correlation_id":null,"id":"00000000-0000-4000-8000-000000000001",'
        b'"occurred_at":"2030-01-02T03:04:05+00:00","payload":{"a":"2","z":1},'
        b'"type":"hold.created","version":1}'
    )


def body(**fields: object) -> bytes:
    data: dict[str, object] = {
        "id": "00000000-0000-4000-8000-000000000001",
        "type": HOLD_CREATED,
        "aggregate_id": "9",
        "occurred_at": "2030-01-02T03:04:05",
    }
    data.update(fields)
    return json.dumps({k: v for k, v in data.items() if v is not ...}).encode()


def test_a_parsed_envelope_without_payload_or_zone_gets_an_empty_one_and_utc() -> None:
    envelope = EventEnvelope.from_json(body())

    assert envelope == EventEnvelope(
        "00000000-0000-4000-8000-000000000001", HOLD_CREATED, AT, "9", {}, None
    )


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"id": "nope"}, "id must be a UUID, got 'nope'"),
        ({"type": 5}, "type is not an event type: 5"),
        ({"type": "Hold"}, "type is not an event type: 'Hold'"),
        ({"aggregate_id": 9}, "aggregate_id must be a non-empty string, got 9"),
        ({"aggregate_id": ""}, "aggregate_id must be a non-empty string, got ''"),
        ({"occurred_at": "soon"}, "occurred_at is not ISO 8601: 'soon'"),
        ({"payload": None}, "payload must be a JSON object"),
        ({"correlation_id": 3}, "correlation_id must be a string or null"),
    ],
)
def test_a_malformed_field_is_named(fields: dict[str, object], message: str) -> None:
    with pytest.raises(MalformedEvent) as caught:
        EventEnvelope.from_json(body(**fields))

    assert str(caught.value) == message


@pytest.mark.parametrize("raw", [b"\xff\xfe", b"{", b"[1]"])
def test_bytes_that_are_no_json_object_are_malformed(raw: bytes) -> None:
    with pytest.raises(MalformedEvent, match=r"^not "):
        EventEnvelope.from_json(raw)


def test_a_parsed_correlation_id_and_zone_are_kept() -> None:
    envelope = EventEnvelope.from_json(
        body(correlation_id="req-9", occurred_at="2030-01-02T12:04:05+09:00", payload={"a": 1})
    )

    assert (envelope.correlation_id, envelope.occurred_at, envelope.payload) == (
        "req-9",
        AT,
        {"a": 1},
    )
    assert envelope.occurred_at.utcoffset() == timedelta(hours=9)


@pytest.fixture
def machine_in_seoul(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The machine's local zone nine hours east of UTC: events must not depend on it."""
    monkeypatch.setenv("TZ", "KST-9")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_event_times_are_utc_whatever_the_machines_zone(machine_in_seoul: None) -> None:
    before = datetime.now(UTC)
    now = EventEnvelope.new(HOLD_CREATED, 1)
    seoul = EventEnvelope.new(
        HOLD_CREATED, 1, occurred_at=datetime(2030, 1, 2, 12, 4, 5, tzinfo=SEOUL)
    )

    assert before <= now.occurred_at <= datetime.now(UTC)
    assert seoul.occurred_at == AT
    assert seoul.to_dict()["occurred_at"] == "2030-01-02T03:04:05+00:00"
    assert payload_json({"naive": datetime(2030, 1, 2, 3, 4, 5), "aware": seoul.occurred_at}) == (
        '{"aware":"2030-01-02T03:04:05+00:00","naive":"2030-01-02T03:04:05+00:00"}'
    )

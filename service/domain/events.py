"""Domain events and the envelope they travel in, from the outbox through RabbitMQ.

An event is written in the same transaction as the change it describes (the outbox), so
it exists exactly when the change does; the relay publishes it later, at least once. The
envelope therefore carries its own id: a consumer recognises a redelivery by that id,
never by comparing payloads. The correlation id is the request id of the HTTP request
that caused the change, so one id ties a client's request, the service's log lines and
every event it produced.

Pure: no I/O here; the JSON form is the wire format on the broker.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

HOLD_CREATED = "hold.created"
HOLD_RELEASED = "hold.released"
RESERVATION_CONFIRMED = "reservation.confirmed"
RESERVATION_EXPIRED = "reservation.expired"
PAYMENT_CAPTURED = "payment.captured"
PAYMENT_REFUNDED = "payment.refunded"

EVENT_TYPES = (
    HOLD_CREATED,
    HOLD_RELEASED,
    RESERVATION_CONFIRMED,
    RESERVATION_EXPIRED,
    PAYMENT_CAPTURED,
    PAYMENT_REFUNDED,
)

# A type is also the routing key on the topic exchange, so it must be dot-separated words
# (a consumer can bind ``payment.*``). Checked by pattern rather than against EVENT_TYPES,
# so a new event needs a constant here, not a change to the check.
EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z_]*(\.[a-z][a-z_]*)+$")
MAX_TYPE_LENGTH = 64
MAX_AGGREGATE_ID_LENGTH = 64
MAX_CORRELATION_ID_LENGTH = 128
ENVELOPE_VERSION = 1


class MalformedEvent(ValueError):
    """Bytes on the event exchange that are not an envelope this code can read."""


def check_event_type(event_type: str) -> str:
    """Reject a type that could not be a routing key, at the write, not at the consumer."""
    if len(event_type) > MAX_TYPE_LENGTH or not EVENT_TYPE_PATTERN.match(event_type):
        raise ValueError(f"event type must look like 'noun.verb', got {event_type!r}")
    return event_type


def _jsonable(value: Any) -> Any:
    """Payloads hold what the domain holds: datetimes, enums, Decimals become plain JSON."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in an event payload")


def payload_json(payload: Mapping[str, Any]) -> str:
    """Canonical JSON (sorted keys), so one payload always has one stored form."""
    return json.dumps(dict(payload), default=_jsonable, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class EventEnvelope:
    """One domain event: what happened (``type``), to what (``aggregate_id``), when, why.

    ``id`` is a UUID4 string, unique per event and stable across redeliveries.
    ``aggregate_id`` is the id of the row the event is about (a hold, a reservation, a
    payment key), as text. ``occurred_at`` is the change's time, UTC.
    """

    id: str
    type: str
    occurred_at: datetime
    aggregate_id: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    correlation_id: str | None = None

    @classmethod
    def new(
        cls,
        event_type: str,
        aggregate_id: object,
        payload: Mapping[str, Any] | None = None,
        *,
        correlation_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> EventEnvelope:
        aggregate = str(aggregate_id)
        if not aggregate or len(aggregate) > MAX_AGGREGATE_ID_LENGTH:
            raise ValueError(f"aggregate id must be 1..64 characters, got {aggregate!r}")
        if correlation_id is not None:
            correlation_id = correlation_id[:MAX_CORRELATION_ID_LENGTH] or None
        moment = occurred_at or datetime.now(UTC)
        return cls(
            id=str(uuid.uuid4()),
            type=check_event_type(event_type),
            occurred_at=moment if moment.tzinfo else moment.replace(tzinfo=UTC),
            aggregate_id=aggregate,
            payload=dict(payload or {}),
            correlation_id=correlation_id,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": ENVELOPE_VERSION,
            "id": self.id,
            "type": self.type,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "aggregate_id": self.aggregate_id,
            "correlation_id": self.correlation_id,
            "payload": dict(self.payload),
        }

    def to_json(self) -> bytes:
        return json.dumps(
            self.to_dict(), default=_jsonable, sort_keys=True, separators=(",", ":")
        ).encode()

    @classmethod
    def from_json(cls, body: bytes) -> EventEnvelope:
        """Parse and validate; anything unexpected is ``MalformedEvent`` naming the field."""
        try:
            data = json.loads(body)
        except (UnicodeDecodeError, ValueError) as exc:
            raise MalformedEvent(f"not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedEvent("not a JSON object")
        event_id = data.get("id")
        try:
            uuid.UUID(str(event_id))
        except ValueError:
            raise MalformedEvent(f"id must be a UUID, got {event_id!r}") from None
        event_type = data.get("type")
        if not isinstance(event_type, str) or not EVENT_TYPE_PATTERN.match(event_type):
            raise MalformedEvent(f"type is not an event type: {event_type!r}")
        aggregate = data.get("aggregate_id")
        if not isinstance(aggregate, str) or not aggregate:
            raise MalformedEvent(f"aggregate_id must be a non-empty string, got {aggregate!r}")
        raw_time = data.get("occurred_at")
        try:
            occurred_at = datetime.fromisoformat(str(raw_time))
        except ValueError:
            raise MalformedEvent(f"occurred_at is not ISO 8601: {raw_time!r}") from None
        payload = data.get("payload", {})
        if not isinstance(payload, dict):
            raise MalformedEvent("payload must be a JSON object")
        correlation = data.get("correlation_id")
        if correlation is not None and not isinstance(correlation, str):
            raise MalformedEvent("correlation_id must be a string or null")
        return cls(
            id=str(event_id),
            type=event_type,
            occurred_at=occurred_at if occurred_at.tzinfo else occurred_at.replace(tzinfo=UTC),
            aggregate_id=aggregate,
            payload=payload,
            correlation_id=correlation,
        )

"""The transactional outbox: a domain event is a row written with the change it describes.

Publishing to RabbitMQ inside a database transaction cannot be atomic with it: the
publish may succeed and the commit fail (an event about nothing), or the commit succeed
and the publish fail (a lost event). So the change and its event commit together here,
and ``service.adapters.relay`` publishes committed rows afterwards, at least once. A
rolled-back transaction leaves no event behind.

``record_event`` runs inside the caller's transaction (``cur`` from
``Database.transaction()``) and never commits.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from service.adapters.db import to_db
from service.domain.events import EventEnvelope, payload_json
from service.http.telemetry import request_id_var

Cursor = Any

NO_REQUEST_ID = "-"  # request_id_var's default: the change was not made by a request

INSERT_EVENT = (
    "INSERT INTO outbox (id, type, aggregate_id, correlation_id, occurred_at,"
    " payload) VALUES (%s, %s, %s, %s, %s, %s)"
)


def current_correlation_id() -> str | None:
    """The id of the HTTP request being served, or None for background jobs (sweeper…)."""
    value = request_id_var.get()
    return None if value == NO_REQUEST_ID else value


async def record_event(
    cur: Cursor,
    event_type: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    correlation_id: str | None = None,
    *,
    occurred_at: datetime | None = None,
) -> str:
    """Insert one event into the outbox in the caller's transaction; returns its id.

    ``event_type`` is one of ``service.domain.events``' names (``hold.created`` …);
    ``aggregate_id`` is the id of the row the event is about; ``payload`` must be JSON
    serialisable (datetimes, enums and Decimals are converted). ``correlation_id``
    defaults to the current request id, so events carry the X-Request-Id that caused them.
    """
    envelope = EventEnvelope.new(
        event_type,
        aggregate_id,
        payload,
        correlation_id=correlation_id if correlation_id is not None else current_correlation_id(),
        occurred_at=occurred_at,
    )
    await cur.execute(
        INSERT_EVENT,
        (
            envelope.id,
            envelope.type,
            envelope.aggregate_id,
            envelope.correlation_id,
            to_db(envelope.occurred_at),
            payload_json(envelope.payload),
        ),
    )
    return envelope.id


async def unpublished_count(cur: Cursor) -> int:
    """Events committed but not yet confirmed by the broker: the relay's backlog."""
    await cur.execute("SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL")
    row = await cur.fetchone()
    return int(row["n"])

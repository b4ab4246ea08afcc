"""The transactional outbox: a domain event is a row written with the change it describes.

Publishing to RabbitMQ inside a database transaction cannot be atomic with it: the
publish may succeed and the commit fail (an event about nothing), or the commit succeed
and the publish fail (a lost event). So the change and its event commit together here,
and the relay (``service.jobs.relay``) publishes committed rows afterwards, at least once.
A rolled-back transaction leaves no event behind.

Every function runs inside the caller's transaction (``cur`` from
``Database.transaction()``) and never commits.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from service.adapters.db import to_db
from service.adapters.round_trips import defer
from service.domain.events import EventEnvelope, payload_json
from service.request_id import current_request_id

Cursor = Any

LAST_ERROR_LENGTH = 255

INSERT_EVENT = (
    "INSERT INTO outbox (id, type, aggregate_id, correlation_id, occurred_at,"
    " payload) VALUES (%s, %s, %s, %s, %s, %s)"
)


async def record_event(
    cur: Cursor,
    event_type: str,
    aggregate_id: str,
    payload: Mapping[str, Any],
    correlation_id: str | None = None,
    *,
    occurred_at: datetime | None = None,
    deferred: bool = False,
) -> str:
    """Insert one event into the outbox in the caller's transaction; returns its id.

    ``event_type`` is one of ``service.domain.events``' names (``hold.created`` …);
    ``aggregate_id`` is the id of the row the event is about; ``payload`` must be JSON
    serialisable (datetimes, enums and Decimals are converted). ``correlation_id``
    defaults to the current request id, so events carry the X-Request-Id that caused them.
    ``deferred``: the row rides with the transaction's next statement, at the latest its
    COMMIT (``round_trips.defer``), instead of costing a round trip of its own.
    """
    envelope = EventEnvelope.new(
        event_type,
        aggregate_id,
        payload,
        correlation_id=correlation_id if correlation_id is not None else current_request_id(),
        occurred_at=occurred_at,
    )
    args = (
        envelope.id,
        envelope.type,
        envelope.aggregate_id,
        envelope.correlation_id,
        to_db(envelope.occurred_at),
        payload_json(envelope.payload),
    )
    if deferred:
        await defer(cur, INSERT_EVENT, args)
    else:
        await cur.execute(INSERT_EVENT, args)
    return envelope.id


async def unpublished_count(cur: Cursor) -> int:
    """Events committed but not yet confirmed by the broker: the relay's backlog."""
    await cur.execute("SELECT COUNT(*) AS n FROM outbox WHERE published_at IS NULL")
    row = await cur.fetchone()
    return int(row["n"])


# No ORDER BY, on purpose: MariaDB (10.11) answers SKIP LOCKED with an empty result when
# the plan needs a filesort and the first rows are locked, so a second relay would find
# nothing while a backlog waits. Walking ix_outbox_pending (published_at, seq) for the
# NULLs yields the rows oldest first anyway, and needs no sort.
CLAIM_UNPUBLISHED = (
    "SELECT seq, id, type, aggregate_id, correlation_id, occurred_at, payload"
    " FROM outbox FORCE INDEX (ix_outbox_pending)"
    " WHERE published_at IS NULL LIMIT %s FOR UPDATE SKIP LOCKED"
)


async def claim_unpublished(cur: Cursor, limit: int) -> list[dict[str, Any]]:
    """Up to ``limit`` unpublished rows, oldest first, that no other relay has locked.

    Run it at READ COMMITTED (no gap locks, so new events keep being inserted meanwhile);
    the rows stay locked until the caller's transaction ends.
    """
    await cur.execute(CLAIM_UNPUBLISHED, (limit,))
    return list(await cur.fetchall())


def envelope_of(row: Mapping[str, Any]) -> EventEnvelope:
    """The envelope of an outbox row; the payload is already canonical JSON."""
    return EventEnvelope(
        id=row["id"],
        type=row["type"],
        occurred_at=row["occurred_at"].replace(tzinfo=UTC),
        aggregate_id=row["aggregate_id"],
        payload=json.loads(row["payload"]),
        correlation_id=row["correlation_id"],
    )


async def mark_published(cur: Cursor, seqs: Sequence[int], now: datetime) -> None:
    """Deferred (``round_trips.defer``): it rides with the relay's COMMIT."""
    await defer(
        cur,
        "UPDATE outbox SET published_at = %s, attempts = attempts + 1"
        f" WHERE seq IN ({', '.join(['%s'] * len(seqs))})",
        (to_db(now), *seqs),
    )


async def mark_failed(cur: Cursor, seqs: Sequence[int], error: str) -> None:
    """Counted as an attempt, with why (the first failure's text), for whoever looks."""
    await cur.execute(
        "UPDATE outbox SET attempts = attempts + 1, last_error = %s"
        f" WHERE seq IN ({', '.join(['%s'] * len(seqs))})",
        (error[:LAST_ERROR_LENGTH], *seqs),
    )

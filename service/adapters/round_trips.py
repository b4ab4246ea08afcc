"""Fewer round trips: statements that travel to MariaDB together, in one packet.

Every round trip costs a worker a send, a wake-up of the server's thread and a read, and
under load the send is where it waits: py-spy put half of a worker's samples in the
socket's ``send`` during the holds bench, most of them waiting for a core after waking the
server. Both drivers open their connections with ``CLIENT.MULTI_STATEMENTS``, so one
``COM_QUERY`` may carry several statements; two ways use that:

- ``batch``: statements whose results the caller needs, sent together, one result each.
- ``defer``: writes whose results nobody reads (a hold's seat rows, an outbox event, the
  zone-version bump); they ride with the next statement the transaction sends, at the
  latest its COMMIT (``Session.commit``).

The server runs a packet's statements one after another, in order, each exactly as if it
had come alone: its own snapshot (a plain read after a locking one starts after the lock
was granted, as ``claim_sql.read_claim_context`` needs), its own locks, in the order they
were written. So the lock order and the isolation notes of the SQL modules hold unchanged.
It stops at the first error, which the driver raises when that statement's result is read;
only where a deferred write's error surfaces moves (to the statement it rode with, inside
the same transaction, which then rolls back as before). A deferred write is never sent
without the statement it waits for: a rollback drops it unsent, which is what it would
have undone.

Statements are escaped by the driver (``mogrify``) before they are joined; a cursor that
is not one of the service's own (a test's plain cursor) runs them one by one instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Cursor = Any
Statement = tuple[str, Any]  # SQL with %s placeholders, and its arguments (or None)


@dataclass(frozen=True)
class Result:
    """One statement's answer within a batch."""

    rows: list[dict[str, Any]]
    rowcount: int
    lastrowid: int | None


class BatchingCursor:
    """Mixin of the service's dict cursors (``db.Cursor``, ``db.AsyncmyCursor``): writes
    deferred to the next round trip, and what ``zone_versions`` tracks per transaction."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deferred: list[str] = []
        self.changed_seats: set[int] = set()  # seats whose zones get bumped at commit
        self.seat_zones: dict[int, tuple[int, int]] = {}  # seat -> (concert, zone), as read

    def take_deferred(self) -> list[str]:
        deferred, self.deferred = self.deferred, []
        return deferred

    async def execute(self, query: str, args: Any = None) -> int:
        """``query``, preceded in the same packet by whatever was deferred; the cursor then
        holds ``query``'s result, as if it had been sent alone."""
        if not self.deferred:
            return int(await super().execute(query, args))  # type: ignore[misc]
        statements = [*self.take_deferred(), self.mogrify(query, args)]  # type: ignore[attr-defined]
        await super().execute("; ".join(statements))  # type: ignore[misc]
        for _ in statements[1:]:
            await self.nextset()  # type: ignore[attr-defined]
        _keep_last_status(self)
        return int(self.rowcount)  # type: ignore[attr-defined]


def batches(cur: Cursor) -> bool:
    return isinstance(cur, BatchingCursor)


async def defer(cur: Cursor, sql: str, args: Any = None) -> None:
    """Send ``sql`` with the transaction's next statement; a cursor that cannot defer runs it
    now. Only for writes whose result (rows, rowcount, lastrowid) nobody reads."""
    if batches(cur):
        cur.deferred.append(cur.mogrify(sql, args))
    else:
        await cur.execute(sql, args)


async def batch(cur: Cursor, statements: Sequence[Statement]) -> list[Result]:
    """``statements`` in one round trip (after anything deferred); their results in order."""
    if not batches(cur):
        return [await _one(cur, sql, args) for sql, args in statements]
    sent = [*cur.take_deferred(), *(cur.mogrify(sql, args) for sql, args in statements)]
    await super(BatchingCursor, cur).execute("; ".join(sent))
    for _ in range(len(sent) - len(statements)):
        await cur.nextset()
    results = [await _current(cur)]
    for _ in statements[1:]:
        await cur.nextset()
        results.append(await _current(cur))
    _keep_last_status(cur)
    return results


def _keep_last_status(cur: Cursor) -> None:
    """The connection's server status is its packet's last answer's, as for one statement.

    asyncmy keeps a result's status only when it is not zero, and a COMMIT with autocommit
    off answers zero: after a packet ending in COMMIT the connection would still say "in a
    transaction" by the statement before it, and asyncmy's pool closes such a connection
    when it is handed back (a new connection, and session, per request). aiomysql keeps
    every status, so this changes nothing there.
    """
    status = getattr(cur._result, "server_status", None)
    if status is not None:
        cur.connection.server_status = status


async def _one(cur: Cursor, sql: str, args: Any) -> Result:
    await cur.execute(sql, args)
    return await _current(cur)


async def _current(cur: Cursor) -> Result:
    rows = list(await cur.fetchall()) if cur.description else []
    return Result(rows, int(cur.rowcount), cur.lastrowid)

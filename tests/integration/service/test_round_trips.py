"""Statements that share a round trip (``service/adapters/round_trips.py``), on MariaDB and
on each driver: each keeps its own result, deferred writes go with the next statement or
not at all, a deferred write's error still undoes its transaction, and a packet ending in
COMMIT hands its connection back to the pool as a connection like any other."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from scenarios.bench.drivers import DRIVERS
from scenarios.bench.statements import count_statements, one_connection
from service.adapters.db import Database
from service.adapters.round_trips import batch, defer
from service.config import Settings

INSERT_MEMBER = (
    "INSERT INTO members (issuer, subject, created_at, last_login_at)"
    " VALUES ('round-trips', %s, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6))"
)


async def members_named(db: Database, *subjects: str) -> list[str]:
    rows = await db.fetch_all(
        "SELECT subject FROM members WHERE issuer = 'round-trips'"
        f" AND subject IN ({', '.join(['%s'] * len(subjects))}) ORDER BY subject",
        subjects,
    )
    return [row["subject"] for row in rows]


@pytest.fixture(params=DRIVERS)
async def counted(request: pytest.FixtureRequest, settings: Settings) -> AsyncIterator[Database]:
    async with one_connection(replace(settings, db_driver=request.param)) as db:
        yield db


async def test_a_batch_answers_each_statement_in_one_round_trip(counted: Database) -> None:
    name = uuid.uuid4().hex

    async def run() -> list[object]:
        async with counted.transaction() as cur:
            return await batch(
                cur,
                [
                    (INSERT_MEMBER, (name,)),
                    ("SELECT subject FROM members WHERE subject = %s", (name,)),
                    ("SELECT 'a; b' AS text, 7 AS n", None),
                ],
            )

    (inserted, found, literal), sent = await count_statements(counted, run)
    assert inserted.rowcount == 1 and inserted.lastrowid
    assert found.rows == [{"subject": name}]
    assert literal.rows == [{"text": "a; b", "n": 7}]  # a ';' inside a string stays there
    assert (sent.total, sent.round_trips) == (4, 2)  # three statements, then the COMMIT


async def test_deferred_writes_ride_with_the_next_statement_which_sees_them(
    counted: Database,
) -> None:
    first, second = uuid.uuid4().hex, uuid.uuid4().hex

    async def run() -> int:
        async with counted.transaction() as cur:
            await defer(cur, INSERT_MEMBER, (first,))
            await defer(cur, INSERT_MEMBER, (second,))
            await cur.execute(
                "SELECT COUNT(*) AS n FROM members WHERE subject IN (%s, %s)", (first, second)
            )
            return int((await cur.fetchone())["n"])

    seen, sent = await count_statements(counted, run)
    assert seen == 2
    assert (sent.total, sent.round_trips) == (4, 2)
    assert await members_named(counted, first, second) == sorted([first, second])


async def test_writes_deferred_until_the_commit_go_with_it(counted: Database) -> None:
    name = uuid.uuid4().hex

    async def run() -> None:
        async with counted.transaction() as cur:
            await defer(cur, INSERT_MEMBER, (name,))

    _, sent = await count_statements(counted, run)
    assert (sent.total, sent.round_trips) == (2, 1)
    assert await members_named(counted, name) == [name]


async def test_a_rollback_drops_deferred_writes_unsent(counted: Database) -> None:
    name = uuid.uuid4().hex

    async def run() -> None:
        async with counted.session() as session:
            await defer(session.cursor, INSERT_MEMBER, (name,))
            # no commit: the session rolls back

    _, sent = await count_statements(counted, run)
    assert sent.by_kind.get("insert", 0) == 0
    assert await members_named(counted, name) == []


async def test_a_failing_deferred_write_undoes_its_whole_transaction(counted: Database) -> None:
    before, duplicate = uuid.uuid4().hex, uuid.uuid4().hex
    async with counted.transaction() as cur:
        await cur.execute(INSERT_MEMBER, (duplicate,))
    with pytest.raises(Exception, match="Duplicate entry"):
        async with counted.transaction() as cur:
            await cur.execute(INSERT_MEMBER, (before,))
            await defer(cur, INSERT_MEMBER, (duplicate,))  # (issuer, subject) is unique
    assert await members_named(counted, before) == []


async def test_a_connection_that_committed_in_a_batch_goes_back_to_the_pool(
    counted: Database,
) -> None:
    """asyncmy's pool closes a connection it believes is inside a transaction: after a
    packet ending in COMMIT the same connection (and session) must serve the next one."""
    sessions = []
    for _ in range(3):
        async with counted.transaction() as cur:
            await cur.execute("SELECT CONNECTION_ID() AS id")
            sessions.append((await cur.fetchone())["id"])
            await defer(cur, INSERT_MEMBER, (uuid.uuid4().hex,))  # sent with the COMMIT
    assert len(set(sessions)) == 1, sessions
    assert counted.size == 1


@pytest.mark.parametrize("level", ["READ COMMITTED", None])
async def test_an_isolation_level_sent_with_the_first_statement_governs_its_transaction(
    level: str | None, counted: Database, db: Database
) -> None:
    """``SET TRANSACTION ISOLATION LEVEL`` rides with the transaction's first statement:
    under READ COMMITTED a second read sees a row another transaction committed after the
    first read, under the default REPEATABLE READ it does not."""
    name = uuid.uuid4().hex
    count = "SELECT COUNT(*) AS n FROM members WHERE subject = %s"
    async with counted.session(level) as session:
        cur = session.cursor
        await cur.execute(count, (name,))
        assert (await cur.fetchone())["n"] == 0
        async with db.transaction() as other:
            await other.execute(INSERT_MEMBER, (name,))
        await cur.execute(count, (name,))
        seen = (await cur.fetchone())["n"]
    assert seen == (1 if level == "READ COMMITTED" else 0)

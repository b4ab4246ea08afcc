"""MariaDB access: one pool per process (aiomysql or asyncmy), transactions, overload mapping.

Overload must be answered fast and as such: a lock-wait timeout (1205), a deadlock (1213)
or a pool that stays empty past ``db_pool_timeout_s`` becomes ``Contention``, which the
HTTP layer turns into a retryable 503. Nothing here waits without a bound.

A lost connection is the same answer, never a 500: the session killed (``KILL
CONNECTION``), the server gone or restarted, the network cut, or a pool that cannot open
a new connection at all. Whether the last statement took effect (even a COMMIT) is then
unknown, so the client is told to try again, and every write it can retry is idempotent
or refused the second time (a seat already held is ``SeatsTaken``). The lost connection
itself is closed and dropped, never handed back to the pool for the next request.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import aiomysql
import pymysql

from service.adapters import zone_versions
from service.adapters.round_trips import BatchingCursor, Result, Statement, batch, defer
from service.config import DatabaseUrl, Settings
from service.domain.errors import Contention, DomainError

try:  # the Cython driver, chosen by TICKETLAB_DB_DRIVER=asyncmy
    import asyncmy
    import asyncmy.cursors
    import asyncmy.errors
except ImportError:  # pragma: no cover - installed with the service
    asyncmy = None

LOCK_WAIT_TIMEOUT = 1205
DEADLOCK = 1213
CONTENTION_ERRORS = {LOCK_WAIT_TIMEOUT: "lock-wait-timeout", DEADLOCK: "deadlock"}
# The connection is gone: the client's CR_SERVER_GONE_ERROR and CR_SERVER_LOST, the
# server's ER_SERVER_SHUTDOWN and MariaDB's ER_CONNECTION_KILLED.
CONNECTION_LOST = frozenset({2006, 2013, 1053, 1927})
# No connection could be made: CR_CONNECTION_ERROR (socket), CR_CONN_HOST_ERROR (TCP).
CANNOT_CONNECT = frozenset({2002, 2003})

ISOLATION_LEVELS = ("READ UNCOMMITTED", "READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE")


def to_db(moment: datetime) -> datetime:
    """MariaDB DATETIME has no zone: store UTC, naive."""
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def from_db(moment: datetime | None) -> datetime | None:
    return None if moment is None else aware(moment)


def aware(moment: datetime) -> datetime:
    """A DATETIME as read back: the UTC moment it was stored as."""
    return moment.replace(tzinfo=UTC)


# Both drivers raise PEP 249 errors with the server's error code first; their classes differ.
DRIVER_ERRORS: tuple[type[Exception], ...] = (pymysql.err.MySQLError,)
INTERFACE_ERRORS: tuple[type[Exception], ...] = (pymysql.err.InterfaceError,)
if asyncmy is not None:
    DRIVER_ERRORS += (asyncmy.errors.MySQLError,)
    INTERFACE_ERRORS += (asyncmy.errors.InterfaceError,)


def error_code(exc: BaseException) -> int | None:
    """The MariaDB error code of a driver error (either driver), or None."""
    if isinstance(exc, DRIVER_ERRORS) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None


def connection_lost(exc: BaseException) -> bool:
    """The error says the connection is unusable (a driver's own ``InterfaceError`` is a
    connection it has already closed)."""
    return isinstance(exc, INTERFACE_ERRORS) or error_code(exc) in CONNECTION_LOST


def is_closed(conn: Any) -> bool:
    """aiomysql says ``closed``; asyncmy says whether it is ``connected``."""
    closed = getattr(conn, "closed", None)
    return bool(closed) if closed is not None else not conn.connected


class Cursor(BatchingCursor, aiomysql.DictCursor):
    """A DictCursor that remembers the seats its transaction changed (``zone_versions``),
    so ``Session.commit`` can bump their zones' versions as the last write, and sends
    deferred writes with its next statement (``round_trips``)."""


if asyncmy is not None:

    class AsyncmyCursor(BatchingCursor, asyncmy.cursors.DictCursor):  # type: ignore[misc]
        """The same on asyncmy's dict cursor."""


def dict_cursor_of(pool: Any) -> Any:
    """The seat-tracking dict-row cursor class of the driver ``pool`` belongs to."""
    if asyncmy is not None and type(pool).__module__.startswith("asyncmy"):
        return AsyncmyCursor
    return Cursor


def contention_reason(exc: BaseException) -> str | None:
    """The ``Contention`` reason of a database error that trying again may cure, or None."""
    code = error_code(exc)
    if code in CONTENTION_ERRORS:
        return CONTENTION_ERRORS[code]
    if code in CANNOT_CONNECT:
        return "database-unreachable"
    if connection_lost(exc):
        return "database-connection-lost"
    return None


async def create_pool(url: DatabaseUrl, settings: Settings, *, size: int | None = None) -> Any:
    """A pool of ``settings.db_driver``: aiomysql (pure Python) or asyncmy (the same
    protocol in Cython, measured faster by ``nox -s bench``); same options either way."""
    options: dict[str, Any] = {
        "host": url.host,
        "port": url.port,
        "user": url.user,
        "password": url.password,
        "db": url.database,
        "minsize": 1,
        "maxsize": size or settings.db_pool_size,
        "autocommit": False,
        "charset": "utf8mb4",
        "pool_recycle": 3600,
        "init_command": (
            "SET time_zone = '+00:00', "
            f"innodb_lock_wait_timeout = {int(settings.db_lock_wait_timeout_s)}"
        ),
    }
    if settings.db_driver == "asyncmy":
        if asyncmy is None:  # pragma: no cover - installed with the service
            raise RuntimeError("TICKETLAB_DB_DRIVER=asyncmy but asyncmy is not installed")
        return await asyncmy.create_pool(**options)
    return await aiomysql.create_pool(**options)


class Session:
    """One transaction on one pooled connection: its cursor, and whether it committed."""

    def __init__(self, conn: Any, cursor: Any) -> None:
        self._conn = conn
        self.cursor = cursor
        self.committed = False

    async def commit(self) -> None:
        """COMMIT, after bumping the zone versions of the seats this transaction changed;
        writes still deferred (``round_trips``) go in the same packet, before it."""
        await zone_versions.bump_noted(self.cursor)
        if getattr(self.cursor, "deferred", None):
            await self.cursor.execute("COMMIT")
        else:
            await self._conn.commit()
        self.committed = True

    async def commit_with(self, statements: Sequence[Statement]) -> list[Result]:
        """``statements``, then COMMIT, in one round trip; their results. Only for a
        transaction that changed no seat: a zone bump has to come after the seat changes."""
        if getattr(self.cursor, "changed_seats", None):
            raise RuntimeError("commit_with after a seat change: use commit()")
        *results, _ = await batch(self.cursor, [*statements, ("COMMIT", None)])
        self.committed = True
        return results


def is_refusal(exc: BaseException) -> bool:
    """A request the domain said no to (seats taken, limit, not found), not an overload."""
    return isinstance(exc, DomainError) and not isinstance(exc, Contention)


class Database:
    """A pool with bounded acquisition; counts waiters so /metrics can show the cliff.

    ``leak_on_refusal`` is the ``pool-leak`` defect (off by default): a transaction that
    ends in a refusal is rolled back but its connection is never handed back to the pool,
    as when an early-return error path skips the release. Each refused hold then costs one
    pooled connection for good, until every request waits out ``db_pool_timeout_s`` and
    gets a 503: the "more users, fewer requests per second" cliff. ``leaked`` counts them.
    """

    def __init__(
        self, pool: Any, acquire_timeout_s: float, *, leak_on_refusal: bool = False
    ) -> None:
        self.pool = pool
        self.cursor_class = dict_cursor_of(pool)
        self.acquire_timeout_s = acquire_timeout_s
        self.waiting = 0
        self.leak_on_refusal = leak_on_refusal
        self._leaked: list[Any] = []

    @property
    def leaked(self) -> int:
        """Connections lost to the ``pool-leak`` defect; always 0 with it off."""
        return len(self._leaked)

    @property
    def size(self) -> int:
        return self.pool.size

    @property
    def in_use(self) -> int:
        return self.pool.size - self.pool.freesize

    @property
    def max_size(self) -> int:
        return self.pool.maxsize

    async def _acquire(self) -> Any:
        """A pooled connection; the pool opens a new one if it has room and none is free,
        and a server it cannot reach is ``Contention("database-unreachable")``."""
        self.waiting += 1
        try:
            async with asyncio.timeout(self.acquire_timeout_s):
                return await self.pool.acquire()
        except TimeoutError:
            raise Contention("pool-acquire-timeout") from None
        except DRIVER_ERRORS as exc:
            if contention_reason(exc) is None:
                raise
            raise Contention("database-unreachable") from exc
        finally:
            self.waiting -= 1

    @asynccontextmanager
    async def session(self, isolation: str | None = None) -> AsyncIterator[Session]:
        """A DictCursor in a transaction; rolled back at the end unless ``commit()`` was
        called, and on any error.

        ``isolation`` (e.g. ``"READ COMMITTED"``) applies to this transaction only, so the
        pooled connection goes back unchanged.
        """
        if isolation is not None and isolation not in ISOLATION_LEVELS:
            raise ValueError(f"unknown isolation level {isolation!r}")
        conn = await self._acquire()
        leak = False
        try:
            async with conn.cursor(self.cursor_class) as cur:
                if isolation is not None:  # sent with the transaction's first statement
                    await defer(cur, f"SET TRANSACTION ISOLATION LEVEL {isolation}")
                # No BEGIN: the pool's connections run with autocommit off, so the first
                # statement opens the transaction, one round trip sooner. A snapshot starts
                # at the first plain read either way (BEGIN does not take one).
                session = Session(conn, cur)
                yield session
            if not session.committed:
                await conn.rollback()
        except BaseException as exc:
            if is_closed(conn) or connection_lost(exc):
                conn.close()  # dropped: the pool must not hand a dead connection out again
            else:
                try:
                    await conn.rollback()
                except Exception:
                    conn.close()
            leak = self.leak_on_refusal and is_refusal(exc)  # the pool-leak defect
            reason = contention_reason(exc)
            if reason is not None:
                raise Contention(reason) from exc
            raise
        finally:
            if leak:
                self._leaked.append(conn)
            else:
                self.pool.release(conn)

    @asynccontextmanager
    async def transaction(self, isolation: str | None = None) -> AsyncIterator[Any]:
        """A DictCursor in a transaction that commits at the end; rolled back on any error."""
        async with self.session(isolation) as session:
            yield session.cursor
            await session.commit()

    async def fetch_all(self, sql: str, args: Any = None) -> list[dict[str, Any]]:
        async with self.transaction() as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())

    async def fetch_one(self, sql: str, args: Any = None) -> dict[str, Any] | None:
        async with self.transaction() as cur:
            await cur.execute(sql, args)
            return await cur.fetchone()

    async def close(self) -> None:
        # Leaked connections are still "in use" and wait_closed would wait for them forever.
        for conn in self._leaked:
            conn.close()
            self.pool.release(conn)
        self._leaked.clear()
        self.pool.close()
        await self.pool.wait_closed()

"""Which database errors are worth a retry (a 503), and which mean the connection is gone."""

from __future__ import annotations

import pymysql
import pytest

from service.adapters.db import connection_lost, contention_reason

Operational = pymysql.err.OperationalError


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (Operational(1205, "Lock wait timeout exceeded"), "lock-wait-timeout"),
        (Operational(1213, "Deadlock found"), "deadlock"),
        (
            Operational(2013, "Lost connection to MySQL server during query"),
            "database-connection-lost",
        ),
        (Operational(2006, "MySQL server has gone away"), "database-connection-lost"),
        (Operational(1927, "Connection was killed"), "database-connection-lost"),
        (pymysql.err.InterfaceError("(0, 'Not connected')"), "database-connection-lost"),
        (Operational(2003, "Can't connect to MySQL server on '10.0.0.7'"), "database-unreachable"),
        (pymysql.err.IntegrityError(1062, "Duplicate entry"), None),
        (ValueError("not a database error"), None),
    ],
)
def test_each_error_has_its_reason_or_none(error: BaseException, reason: str | None) -> None:
    assert contention_reason(error) == reason


def test_a_lock_wait_timeout_leaves_the_connection_usable() -> None:
    assert not connection_lost(Operational(1205, "Lock wait timeout exceeded"))

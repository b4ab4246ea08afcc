"""Members, keyed by who their identity provider says they are: (issuer, subject).

Sign-in upserts in one statement, so two first sign-ins of the same person racing on two
workers still produce one member (the unique key decides) and both get its id.
"""

from __future__ import annotations

from datetime import UTC, datetime

from service.adapters.db import Database, to_db
from service.adapters.oidc import Identity


class MemberStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def upsert(self, identity: Identity, now: datetime | None = None) -> int:
        """The member id for ``identity``, created on first sign-in; profile fields refreshed."""
        moment = to_db(now or datetime.now(UTC))
        async with self.db.transaction() as cur:
            # LAST_INSERT_ID(id) makes an update report the existing row's id as lastrowid.
            await cur.execute(
                "INSERT INTO members (issuer, subject, email, name, created_at, last_login_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), email = VALUES(email),"
                " name = VALUES(name), last_login_at = VALUES(last_login_at)",
                (identity.issuer, identity.subject, identity.email, identity.name, moment, moment),
            )
            return int(cur.lastrowid)

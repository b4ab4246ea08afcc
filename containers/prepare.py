"""docker compose's one-shot ``prepare``: migrate the primary, and seed a venue once.

Run before the service starts (``depends_on: condition: service_completed_successfully``).
Seeding only an empty database keeps ``docker compose up`` idempotent: a second ``up``
finds the concert and leaves it alone.
"""

from __future__ import annotations

import os
import sys

from service import schema
from service.config import Settings
from service.domain.venue import venue_layout


def main() -> int:
    settings = Settings.from_env()
    applied = schema.migrate(settings)
    print("migrations applied: " + (", ".join(applied) or "none (up to date)"))
    with schema.connect(settings.db_admin) as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM concerts")
        (concerts,) = cur.fetchone()
    if concerts:
        print(f"{concerts} concert(s) already seeded")
        return 0
    layout = venue_layout(
        int(os.environ.get("SEED_ZONES", "4")),
        int(os.environ.get("SEED_SEATS_PER_ROW", "25")),
        int(os.environ.get("SEED_ROWS", "10")),
    )
    seeded = schema.seed(settings, layout=layout)
    print(f"seeded concert(s) {seeded.concert_ids}: {seeded.seats} seats")
    return 0


if __name__ == "__main__":
    sys.exit(main())

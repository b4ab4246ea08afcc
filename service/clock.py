"""The wall clock, behind the Clock port so tests can pin time."""

from __future__ import annotations

from datetime import UTC, datetime

from service.ports import Clock


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)

"""What an operation decided, kept apart from how (and when) the HTTP answer is sent.

A timeout or 5xx fault changes only the answer this call gets; idempotent replays of the
same request get the true result, which is how a client recovers from such faults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from providers.psp.errors import PspError


@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]

    @classmethod
    def error(cls, err: PspError) -> Reply:
        return cls(err.status, err.body())

    @property
    def code(self) -> str | None:
        return self.body.get("code") if self.status >= 400 else None


@dataclass(frozen=True)
class Outcome:
    reply: Reply
    keep: bool = True  # store for idempotent replays (False: nothing happened, retry may run)
    wire: Reply | None = None  # what this call answers instead of ``reply`` (a fault)
    hold: Literal["late", "never"] | None = None
    hold_s: float = 0.0
    replayed: bool = False

    @property
    def answer(self) -> Reply:
        return self.wire or self.reply

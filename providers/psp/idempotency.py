"""``Idempotency-Key`` handling: one execution per key, every repeat gets its result.

Concurrent repeats wait for the first execution instead of failing, so ten simultaneous
retries of one confirm produce one capture and ten identical answers. A key reused with a
different body is refused (422) rather than replayed, so a client bug cannot silently
receive another request's result. Keys are scoped by path: the same key on confirm and on
a cancel names two different requests.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

from providers.psp.errors import PspError
from providers.psp.outcomes import Outcome, Reply

MAX_KEY_LENGTH = 300


def fingerprint(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str) -> None:
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise PspError(
            "INVALID_REQUEST", f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters."
        )


class IdempotencyStore:
    def __init__(self) -> None:
        self._done: dict[tuple[str, str], tuple[str, Reply]] = {}
        self._running: dict[tuple[str, str], tuple[str, asyncio.Future[Reply | None]]] = {}

    def __len__(self) -> int:
        return len(self._done)

    async def run(
        self,
        scope: str,
        key: str,
        body_fingerprint: str,
        action: Callable[[], Awaitable[Outcome]],
    ) -> Outcome:
        slot = (scope, key)
        while True:
            if slot in self._done:
                stored_fp, reply = self._done[slot]
                self._check_same(stored_fp, body_fingerprint)
                return Outcome(reply=reply, replayed=True)
            if slot not in self._running:
                break
            running_fp, future = self._running[slot]
            self._check_same(running_fp, body_fingerprint)
            reply = await asyncio.shield(future)
            if reply is not None:
                return Outcome(reply=reply, replayed=True)
            # The first execution kept nothing (e.g. a 5xx before processing): run again.

        future: asyncio.Future[Reply | None] = asyncio.get_running_loop().create_future()
        self._running[slot] = (body_fingerprint, future)
        try:
            outcome = await action()
            if outcome.keep:
                self._done[slot] = (body_fingerprint, outcome.reply)
                future.set_result(outcome.reply)
            return outcome
        finally:
            del self._running[slot]
            if not future.done():
                future.set_result(None)

    @staticmethod
    def _check_same(stored: str, given: str) -> None:
        if stored != given:
            raise PspError(
                "INVALID_REQUEST",
                "This Idempotency-Key was already used with a different request body.",
                status=422,
            )

"""Deliberate defects of the HTTP layer, each off unless ``TICKETLAB_DEFECTS`` names it.

``memory-leak``: a "request journal" middleware of the kind added for debugging and never
removed. It keeps every request's method, path, headers and body in a module-level list
that nothing ever trims, so a worker's memory grows with every request it serves, at a
rate set by request size and throughput (about 1 KB per small request), until the
process is killed. The lab's memory panel and leak verdict should catch it; nothing
functional breaks before that.

The defects of the database pool (``pool-leak``, ``service.adapters.db``) and the
payment flow live beside the code they break.
"""

from __future__ import annotations

import time
from typing import Any

from aiohttp import web

from service.config import Settings
from service.http.problems import Handler

MEMORY_LEAK = "memory-leak"

# The leak itself: appended to on every request, never shrunk (the defect).
REQUEST_JOURNAL: list[dict[str, Any]] = []


@web.middleware
async def request_journal_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Keeps a copy of every request "for debugging" — forever."""
    body = await request.read() if request.can_read_body else b""
    REQUEST_JOURNAL.append(
        {
            "at": time.time(),
            "method": request.method,
            "path": request.path_qs,
            "headers": dict(request.headers),
            "body": body,
        }
    )
    return await handler(request)


def defect_middlewares(settings: Settings) -> list[Any]:
    """The middlewares of the defects switched on; none by default."""
    return [request_journal_middleware] if settings.has_defect(MEMORY_LEAK) else []

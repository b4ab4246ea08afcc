"""Routed reads over HTTP: which reader a request gets, the headers that say what it read,
and the middleware that marks a member's writes for read-your-writes.

Every routed read answers with ``X-Read-Source`` (``cache``, ``primary`` or ``replica``)
and ``X-Read-Age-Ms`` (how stale it may be: the replica's heartbeat lag at the time of the
read, 0 on the primary), and ``X-Read-Version`` where what it read has a version. The lab
counts stale reads and the 409s that follow from them by these headers.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from service.bootstrap import DEPS
from service.domain.errors import Unauthorized
from service.domain.reads import Freshness
from service.http.auth import MEMBER, current_member
from service.usecases import reads

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def read_headers(freshness: Freshness) -> dict[str, str]:
    headers = {"X-Read-Source": str(freshness.source), "X-Read-Age-Ms": str(freshness.age_ms)}
    if freshness.version is not None:
        headers["X-Read-Version"] = str(freshness.version)
    return headers


async def optional_member(request: web.Request) -> int | None:
    """The member of a valid bearer token, if any: public reads take no token, and a bad
    one only means the read is not routed as that member's."""
    if "Authorization" not in request.headers:
        return None
    try:
        return await current_member(request)
    except Unauthorized:
        return None


async def reader(request: web.Request, member_id: int | None = None) -> reads.Reader:
    """Where this request's read goes (as ``member_id``'s, or the token's when not given)."""
    if member_id is None:
        member_id = await optional_member(request)
    return await reads.reader_for(request.app[DEPS].reads, member_id)


@web.middleware
async def mark_writes_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a member's successful write, remember it (read-your-writes only)."""
    response = await handler(request)
    member_id = request.get(MEMBER)
    if request.method in WRITE_METHODS and response.status < 400 and member_id is not None:
        await reads.wrote(request.app[DEPS].reads, member_id)
    return response

"""Routed reads over HTTP: which reader a request gets, and the middleware that marks a
member's writes for read-your-writes.

Every routed read answers with ``X-Read-Source`` (``cache``, ``primary`` or ``replica``)
and ``X-Read-Age-Ms`` (how stale it may be), and ``X-Read-Version`` where what it read has
a version: ``revalidation.freshness_headers`` writes them, the one place that does. The lab
counts stale reads and the 409s that follow from them by these headers.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from service.bootstrap import DEPS
from service.domain.errors import Unauthorized
from service.domain.reads import ReadPolicy
from service.http.auth import MEMBER, current_member
from service.usecases import reads

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def optional_member(request: web.Request) -> int | None:
    """The member of a valid bearer token, if any: public reads take no token, and a bad
    one only means the read is not routed as that member's."""
    if "Authorization" not in request.headers:
        return None
    try:
        return await current_member(request)
    except Unauthorized:
        return None


async def routed_member(request: web.Request, member_id: int | None) -> int | None:
    """The member a read is routed as: only read-your-writes asks (and pays for the token's
    check on an anonymous route)."""
    if member_id is not None or request.app[DEPS].reads.policy is not ReadPolicy.READ_YOUR_WRITES:
        return member_id
    return await optional_member(request)


async def reader(request: web.Request, member_id: int | None = None) -> reads.Reader:
    """Where this request's read goes (as ``member_id``'s, or the token's when not given)."""
    deps = request.app[DEPS].reads
    return await reads.reader_for(deps, await routed_member(request, member_id))


async def browser(request: web.Request) -> reads.Reader:
    """Where a seat map, zones or concert list read goes: the read model when it is on."""
    deps = request.app[DEPS].reads
    if deps.read_model is not None:
        return await reads.browser_for(deps, None)
    return await reads.browser_for(deps, await routed_member(request, None))


@web.middleware
async def mark_writes_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """After a member's successful write, remember it (read-your-writes only)."""
    response = await handler(request)
    member_id = request.get(MEMBER)
    if request.method in WRITE_METHODS and response.status < 400 and member_id is not None:
        await reads.wrote(request.app[DEPS].reads, member_id)
    return response

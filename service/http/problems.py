"""RFC 9457 problem details: the one shape every error response takes.

Each domain error maps to one problem type with one status. Contention is a 503 with its
own type and a Retry-After, so a load generator can tell "try again" from "no".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from service.domain import errors

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://ticketlab.dev/problems/"
log = logging.getLogger(__name__)

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.MalformedInput: 400,
    errors.InvalidRequest: 422,
    errors.NotFound: 404,
    errors.SeatsTaken: 409,
    errors.TicketLimitExceeded: 409,
    errors.InvalidState: 409,
    errors.Contention: 503,
    errors.Unauthorized: 401,
}


def problem_type(code: str) -> str:
    return TYPE_BASE + code


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    field_errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    body: dict[str, Any] = {"type": problem_type(code), "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if field_errors:
        body["errors"] = field_errors
    body.update(extra)
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def from_domain_error(exc: errors.DomainError) -> web.Response:
    status = next((code for kind, code in STATUS_BY_ERROR.items() if isinstance(exc, kind)), 400)
    extra: dict[str, Any] = {}
    headers = None
    if isinstance(exc, errors.SeatsTaken):
        extra["seat_ids"] = exc.seat_ids
    elif isinstance(exc, errors.TicketLimitExceeded):
        extra.update(limit=exc.limit, already=exc.already, requested=exc.requested)
    elif isinstance(exc, errors.Contention):
        extra["reason"] = exc.reason
        headers = {"Retry-After": "1"}
    elif isinstance(exc, errors.Unauthorized):
        headers = {"WWW-Authenticate": 'Bearer realm="ticketlab"'}
    field_errors = exc.field_errors if isinstance(exc, errors.InvalidRequest) else None
    title = type(exc).__name__
    return problem(
        status, exc.code, title, str(exc), field_errors=field_errors, headers=headers, **extra
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Domain errors and aiohttp's HTTP errors become problem+json; anything else a logged 500."""
    try:
        return await handler(request)
    except errors.DomainError as exc:
        return from_domain_error(exc)
    except web.HTTPRequestEntityTooLarge as exc:
        return problem(413, "body-too-large", "Request body too large", exc.text)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == PROBLEM_JSON:
            raise
        return problem(exc.status, f"http-{exc.status}", exc.reason, headers=_keep_headers(exc))
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return problem(500, "internal", "Internal Server Error")


def _keep_headers(exc: web.HTTPException) -> dict[str, str]:
    return {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}

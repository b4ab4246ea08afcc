"""OAuth 2.0 error responses (RFC 6749 §5.2): JSON ``{"error", "error_description"}``.

Every failure the provider can foresee is one of these, with a 400 or 401; the middleware
turns aiohttp's own HTTP errors into the same shape, so a client never has to parse HTML.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    def __init__(
        self,
        error: str,
        description: str,
        *,
        status: int = 400,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status
        self.headers = headers or {}

    def response(self) -> web.Response:
        return oauth_error_response(self.status, self.error, self.description, self.headers)


def oauth_error_response(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": error, "error_description": description},
        status=status,
        headers={**NO_STORE, **(headers or {})},
    )


def invalid_request(description: str) -> OAuthError:
    return OAuthError("invalid_request", description)


def invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def oauth_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except OAuthError as exc:
        return exc.response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        error = "invalid_request" if exc.status < 500 else "server_error"
        keep = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return oauth_error_response(exc.status, error, exc.reason, keep)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return oauth_error_response(500, "server_error", "internal error")

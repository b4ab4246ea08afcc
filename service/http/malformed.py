"""Requests aiohttp refuses before any route or middleware sees them: a problem+json 400.

A NUL byte in a header, an overlong request line, a bad chunk size: aiohttp's HTTP parser
refuses them and answers with its own ``text/plain`` 400 while logging an ERROR with a
traceback, as if the server had failed. They are the client's mistake, so they get the
API's problem+json 400 (the contract says so for every route) and one INFO line.

aiohttp offers no hook for this answer: ``install()`` wraps ``RequestHandler.handle_error``
for parse errors only, once per process; every other error keeps aiohttp's handling.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError

from service.http.problems import problem

log = logging.getLogger(__name__)
_installed = False


def install() -> None:
    """Answer unparseable requests with problem+json in every server of this process."""
    global _installed
    if _installed:
        return
    original = web_protocol.RequestHandler.handle_error

    def handle_error(
        self: web_protocol.RequestHandler,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if not isinstance(exc, HttpProcessingError) or not 400 <= status < 500:
            return original(self, request, status, exc, message)
        if request.writer.output_size > 0:  # as aiohttp: nothing more can be sent
            raise ConnectionError("response already sent, cannot send the error")
        reason = (exc.message or "malformed request").splitlines()[0].rstrip(":")
        log.info("refused a malformed request from %s: %s", request.remote, reason)
        response = problem(
            status, "malformed-request", "Bad Request", f"malformed request: {reason}"
        )
        response.force_close()
        return response

    handle_error_: Any = handle_error
    web_protocol.RequestHandler.handle_error = handle_error_  # type: ignore[method-assign]
    _installed = True

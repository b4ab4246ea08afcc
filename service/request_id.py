"""The request id: one id per HTTP request, or per step of a background job.

The HTTP layer sets it from ``X-Request-Id`` (or makes one up); jobs bind their own. Log
lines, the outbox (an event's correlation id) and the payment provider's client (which
sends it on) read it, so one id follows a change from the client through the service's
log to the broker and the provider's ledger. It lives apart from ``service.http`` so that
adapters can read it without importing the web layer.
"""

from __future__ import annotations

import contextvars
import logging
from collections.abc import Iterator
from contextlib import contextmanager

NO_REQUEST_ID = "-"  # the default: whatever runs now was not caused by a request

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar(
    "request_id", default=NO_REQUEST_ID
)


def current_request_id() -> str | None:
    """The id of the request (or job step) being served; None outside of one."""
    value = request_id_var.get()
    return None if value == NO_REQUEST_ID else value


@contextmanager
def bound_request_id(request_id: str) -> Iterator[str]:
    """Everything inside runs under ``request_id``, and the previous id comes back after."""
    token = request_id_var.set(request_id)
    try:
        yield request_id
    finally:
        request_id_var.reset(token)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every log record, as ``%(request_id)s``."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True

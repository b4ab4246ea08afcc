"""RFC 9457 problem details: the one shape every error response takes, and the one map
from domain errors to it.

The domain names what went wrong (``SeatsTaken``, ``PaymentDeclined``, ``Contention``…)
and nothing here is decided there: this module alone picks each error's status, title
and headers. Whatever may succeed if simply tried again (contention, a provider that
cannot be reached) is a 5xx with ``Retry-After``, so a load generator can tell "try again"
from "no".
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from service.domain import errors
from service.domain import payments as pay

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://ticketlab.dev/problems/"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    """How one kind of domain error is answered."""

    status: int
    title: str | None = None  # None: the error's class name
    retry_after_s: int | None = None


# The first rule whose type the error is an instance of wins: subclasses before their base.
RULES: tuple[tuple[type[errors.DomainError], Rule], ...] = (
    (errors.MalformedInput, Rule(400)),
    (errors.InvalidQuery, Rule(400, "Bad Request")),
    (pay.AmountMismatch, Rule(409, "Amount mismatch")),  # a valid body at odds with the order
    (errors.InvalidRequest, Rule(422)),
    (errors.NotFound, Rule(404)),
    (errors.SeatsTaken, Rule(409)),
    (errors.TicketLimitExceeded, Rule(409)),
    (errors.InvalidState, Rule(409)),
    (errors.Contention, Rule(503, retry_after_s=1)),
    (errors.Unauthorized, Rule(401)),
    (errors.SignInFailed, Rule(400, "Sign-in failed")),
    (errors.NotThisBrowser, Rule(403, "Sign-in not from this browser")),
    (pay.InvalidWebhookSignature, Rule(401, "Invalid webhook signature")),
    (pay.PaymentDeclined, Rule(402)),
    (pay.PaymentRejected, Rule(422)),
    (pay.ProviderMisbehaved, Rule(502)),
    (pay.PaymentRefunded, Rule(409)),
    (pay.ReservationNotPayable, Rule(409)),
    (pay.PaymentProblem, Rule(422)),
)
FALLBACK = Rule(400)
# A provider that did not answer (503) may be back soon; the identity provider's outages
# are given longer, since a sign-in retried at once only lands on the same outage.
PROVIDER_RETRY_AFTER_S = {"payment": 2, "identity": 5}


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


def rule_for(exc: errors.DomainError) -> Rule:
    if isinstance(exc, errors.ProviderUnavailable):
        if exc.answered:
            return Rule(502, f"{exc.provider.capitalize()} provider unavailable")
        retry = PROVIDER_RETRY_AFTER_S.get(exc.provider, 5)
        return Rule(503, f"{exc.provider.capitalize()} provider unavailable", retry)
    return next((rule for kind, rule in RULES if isinstance(exc, kind)), FALLBACK)


def extra_fields(exc: errors.DomainError) -> dict[str, Any]:
    """What a client can act on beyond the type: which seats, which limit, why busy."""
    if isinstance(exc, errors.SeatsTaken):
        return {"seat_ids": exc.seat_ids}
    if isinstance(exc, errors.TicketLimitExceeded):
        return {"limit": exc.limit, "already": exc.already, "requested": exc.requested}
    if isinstance(exc, errors.Contention):
        return {"reason": exc.reason}
    if isinstance(exc, pay.AmountMismatch):
        return {"expected": exc.expected}
    if isinstance(exc, pay.PaymentProblem):
        return {k: v for k, v in exc.extra.items() if v is not None}
    return {}


def from_domain_error(exc: errors.DomainError) -> web.Response:
    rule = rule_for(exc)
    headers: dict[str, str] = {}
    if rule.retry_after_s is not None:
        headers["Retry-After"] = str(rule.retry_after_s)
    if isinstance(exc, errors.Unauthorized):
        headers["WWW-Authenticate"] = 'Bearer realm="ticketlab"'
    field_errors = exc.field_errors if isinstance(exc, errors.InvalidRequest) else None
    return problem(
        rule.status,
        exc.code,
        rule.title or type(exc).__name__,
        str(exc),
        field_errors=field_errors,
        headers=headers or None,
        **extra_fields(exc),
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

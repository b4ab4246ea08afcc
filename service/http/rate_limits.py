"""Which routes are rate-limited, per what, and the 429 a client gets past a limit.

Sign-in (``/auth/login`` and ``/auth/callback``) and refresh are limited per client address
(no member is known yet); holds and confirm per client and per member, so neither one
address nor one member can flood them. The member comes from the bearer token; a missing or
invalid token skips the member limit (the view refuses the request with a 401 anyway).
Both buckets are taken in one Redis round trip, all or none.
Limits are settings (``TICKETLAB_RATE_LIMIT_*``, 0 switches one off); the answer is a 429
problem naming the limit, with ``Retry-After``.
"""

from __future__ import annotations

from aiohttp import web

from service.adapters.rate_limiter import Limit, Refusal
from service.bootstrap import RATE_LIMITER, SETTINGS
from service.config import Settings
from service.domain.errors import Unauthorized
from service.http.auth import verify_bearer
from service.http.problems import Handler, problem

# (method, route) → the rule its requests count against.
RULES = {
    ("GET", "/auth/login"): "signin",
    ("GET", "/auth/callback"): "signin",
    ("POST", "/auth/refresh"): "refresh",
    ("POST", "/api/v1/concerts/{concert_id}/holds"): "holds",
    ("POST", "/api/v1/payments/confirm"): "confirm",
}


def limits_for(settings: Settings, rule: str) -> tuple[Limit | None, Limit | None]:
    """The (per client, per member) limits of ``rule``; None where the rule has none."""
    window = settings.rate_limit_window_s

    def limit(subject: str) -> Limit | None:
        value = getattr(settings, f"rate_limit_{rule}_per_{subject}", None)
        return None if value is None else Limit(rule, subject, value, window)

    return limit("client"), limit("member")


def _member(request: web.Request) -> str | None:
    try:
        return str(verify_bearer(request))
    except Unauthorized:
        return None


def too_many(refusal: Refusal) -> web.Response:
    limit = refusal.limit
    return problem(
        429,
        "rate-limited",
        "Too Many Requests",
        f"more than {limit.limit} {limit.rule} requests in {limit.window_s:g} s from this "
        f"{limit.subject}; retry after {refusal.retry_after_s} s",
        headers={"Retry-After": str(refusal.retry_after_s)},
        limit=limit.name,
    )


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    resource = request.match_info.route.resource
    rule = RULES.get((request.method, resource.canonical if resource else ""))
    if rule is None:
        return await handler(request)
    settings = request.app[SETTINGS]
    limiter = request.app[RATE_LIMITER]
    per_client, per_member = limits_for(settings, rule)
    buckets = []
    if per_client is not None:
        buckets.append((per_client, request.remote or "unknown"))
    if per_member is not None and (member := _member(request)):
        buckets.append((per_member, member))
    refusal = await limiter.check_all(buckets)
    if refusal is not None:
        return too_many(refusal)
    return await handler(request)

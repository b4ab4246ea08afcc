"""The OpenAPI 3.1 document served at /openapi.json: the contract clients are held to.

Written by hand beside the routes it describes. It names every input a route reads (path,
query, headers, body) with the limits the parsers enforce — the limits are imported from
the parsers, so the two cannot drift — and every status a route answers, with its content
type. ``tests/unit/service/test_openapi.py`` checks that every route is documented and the
document valid; ``tests/integration/service/test_api_contract.py`` runs schemathesis
against a real server, which must find nothing.

Statuses every route may send are listed once: 400 for a request aiohttp cannot parse
(a NUL byte in a header, an overlong line), 503 with ``Retry-After`` where a route needs
MariaDB or Redis and they are overloaded or away.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from service.adapters.oauth_state import STATE_FORMAT
from service.adapters.psp_client import SIGNATURE_HEADER, TRANSMISSION_TIME_HEADER
from service.adapters.tokens import MAX_REFRESH_TOKEN_LEN
from service.bootstrap import SETTINGS
from service.http.auth import (
    BINDING_COOKIE,
    CONTROL_CHARS,
    MAX_CODE_LEN,
    MAX_ERROR_LEN,
    MAX_LOGIN_HINT,
)
from service.http.parsing import MAX_EXACT_FLOAT_INT, MAX_ID
from service.http.payments import MAX_AMOUNT, MAX_ORDER_ID, MAX_PAYMENT_KEY
from service.http.problems import PROBLEM_JSON
from service.http.views import MAX_ROW_LEN

JSON = "application/json"
AUTH = [{"bearer": []}]
MEMBER_TAG, PUBLIC_TAG = "member", "public"  # needs a bearer token, or not
PROBLEM = {"$ref": "#/components/responses/Problem"}
RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
OVERLOADED = {
    "description": "overloaded or a server it needs is away: retry after Retry-After",
    "headers": {"Retry-After": RETRY_AFTER},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
RATE_LIMITED = {
    "description": "past a rate limit (the problem's `limit` names it): retry after Retry-After",
    "headers": {"Retry-After": {**RETRY_AFTER, "required": True}},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
# No control characters (what the query parsers refuse); printable ASCII for opaque tokens.
NO_CONTROLS = f"^[^{CONTROL_CHARS}]*$"
PRINTABLE_ASCII = r"^[ -~]*$"


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


# What every routed read (seat map, zones, concerts, my reservations) says about itself.
READ_HEADERS = {
    "X-Read-Source": {
        "required": True,
        "description": "where the answer came from",
        "schema": {"type": "string", "enum": ["cache", "primary", "replica"]},
    },
    "X-Read-Age-Ms": {
        "required": True,
        "description": "staleness: the replica's heartbeat lag at the read, 0 on the primary",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Read-Version": {
        "description": "the version of what was read, where it has one",
        "schema": {"type": "integer", "minimum": 0},
    },
}


def json_body(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def path_id(name: str) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def operation(
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    secured: bool = False,
    overloadable: bool = True,
    rate_limited: bool = False,
) -> dict[str, Any]:
    """One operation; the statuses every route shares are added here."""
    all_responses = {"400": PROBLEM, **responses}
    if rate_limited:
        all_responses["429"] = RATE_LIMITED
    if secured:
        all_responses["401"] = problem("no, an invalid or an expired bearer token")
    if body is not None:
        all_responses["413"] = problem("a body larger than TICKETLAB_MAX_BODY_BYTES")
    if overloadable:
        all_responses["503"] = OVERLOADED
    op: dict[str, Any] = {"summary": summary, "responses": dict(sorted(all_responses.items()))}
    op["tags"] = [MEMBER_TAG if secured else PUBLIC_TAG]
    if secured:
        op["security"] = AUTH
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return op


REFRESH_BODY = {
    "type": "object",
    "required": ["refresh_token"],
    "properties": {
        "refresh_token": {"type": "string", "minLength": 1, "maxLength": MAX_REFRESH_TOKEN_LEN}
    },
}
CONFIRM_BODY = {
    "type": "object",
    "required": ["paymentKey", "orderId", "amount"],
    "additionalProperties": False,
    "properties": {
        "paymentKey": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_PAYMENT_KEY,
            "pattern": PRINTABLE_ASCII,
        },
        "orderId": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_ORDER_ID,
            "pattern": PRINTABLE_ASCII,
        },
        "amount": {"type": "integer", "minimum": 1, "maximum": MAX_AMOUNT},
    },
}
WEBHOOK_BODY = {
    "type": "object",
    "description": "a Toss Payments webhook event; only PAYMENT_STATUS_CHANGED is applied",
    "properties": {
        "eventType": {"type": "string"},
        "eventId": {"type": "string", "minLength": 1, "maxLength": 64},
        "createdAt": {"type": "string"},
        "data": {"type": "object"},
    },
}
WEBHOOK_HEADERS = [
    {
        "name": SIGNATURE_HEADER,
        "in": "header",
        "required": True,
        "description": "v1:<base64 HMAC-SHA256 of '<body>:<transmission time>'>, comma-separated",
        "schema": {"type": "string"},
    },
    {
        "name": TRANSMISSION_TIME_HEADER,
        "in": "header",
        "required": True,
        "description": "when the provider sent it (ISO 8601); replays outside the tolerance: 401",
        "schema": {"type": "string"},
    },
]

SCHEMAS: dict[str, Any] = {
    "Problem": {
        "type": "object",
        "required": ["type", "title", "status"],
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "errors": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Tokens": {
        "type": "object",
        "required": ["access_token", "token_type", "expires_in", "refresh_token", "member_id"],
        "properties": {
            "access_token": {"type": "string"},
            "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer"},
            "refresh_token": {"type": "string"},
            "member_id": {"type": "integer"},
        },
    },
    "Readiness": {
        "type": "object",
        "required": ["status", "checks"],
        "properties": {
            "status": {"enum": ["ready", "unavailable"]},
            "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        },
    },
    "Concert": {
        "type": "object",
        "required": ["id", "title", "venue", "starts_at", "base_price", "ticket_limit"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "venue": {"type": "string"},
            "starts_at": {"type": "string"},
            "base_price": {"type": "integer"},
            "ticket_limit": {"type": "integer"},
        },
    },
    "Zone": {
        "type": "object",
        "required": ["code", "grade", "price", "rows", "seats_per_row", "capacity", "remaining"],
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]+$"},
            "grade": {"type": "string"},
            "price": {"type": "integer"},
            "rows": {"type": "integer"},
            "seats_per_row": {"type": "integer"},
            "capacity": {"type": "integer"},
            "remaining": {"type": "integer"},
        },
    },
    "Seat": {
        "type": "object",
        "required": ["id", "zone_code", "row", "number", "price", "status"],
        "properties": {
            "id": {"type": "integer"},
            "zone_code": {"type": "string", "pattern": "^[A-Z]+$"},
            "row": {"type": "string"},
            "number": {"type": "integer"},
            "price": {"type": "integer"},
            "status": {"type": "string"},
        },
    },
    "Hold": {
        "type": "object",
        "required": ["id", "concert_id", "member_id", "status", "amount", "expires_at", "seats"],
        "properties": {
            "id": {"type": "integer"},
            "concert_id": {"type": "integer"},
            "member_id": {"type": "integer"},
            "status": {"type": "string"},
            "amount": {"type": "integer"},
            "expires_at": {"type": "string"},
            "seats": {"type": "array"},
        },
    },
    "Reservation": {
        "type": "object",
        "required": ["id", "hold_id", "order_id", "amount", "status", "expires_at"],
        "properties": {
            "id": {"type": "integer"},
            "hold_id": {"type": "integer"},
            "order_id": {"type": "string"},
            "amount": {"type": "integer"},
            "status": {"type": "string"},
            "expires_at": {"type": "string"},
        },
    },
    "PaymentStart": {
        "type": "object",
        "required": ["reservation_id", "order_id", "amount"],
        "properties": {
            "reservation_id": {"type": "integer"},
            "order_id": {"type": "string"},
            "amount": {"type": "integer"},
        },
    },
    "Confirmation": {
        "type": "object",
        "required": ["status", "payment_key", "order_id", "amount", "reservation_id"],
        "properties": {
            "status": {"enum": ["CONFIRMED", "PENDING"]},
            "payment_key": {"type": "string"},
            "order_id": {"type": "string"},
            "amount": {"type": "integer"},
            "reservation_id": {"type": "integer"},
            "reservation_status": {"type": "string"},
        },
    },
}


def _seats_body(max_seats: int) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["seat_ids"],
        "additionalProperties": False,
        "properties": {
            "seat_ids": {
                "type": "array",
                "items": {"type": "integer", "minimum": 1, "maximum": MAX_EXACT_FLOAT_INT},
                "minItems": 1,
                "maxItems": max_seats,
                "uniqueItems": True,
            }
        },
    }


def _paths(max_seats: int) -> dict[str, Any]:
    concert = [path_id("concert_id")]
    hold = [path_id("hold_id")]
    zone = {
        "name": "zone",
        "in": "path",
        "required": True,
        "description": "a zone code; any case (answers name it in upper case)",
        "schema": {"type": "string", "pattern": "^[A-Za-z]{1,8}$"},
    }
    row = query(
        "row",
        {"type": "string", "pattern": f"^[A-Za-z0-9]{{1,{MAX_ROW_LEN}}}$"},
    )
    login_hint = query(
        "login_hint",
        {"type": "string", "maxLength": MAX_LOGIN_HINT, "pattern": NO_CONTROLS},
    )
    state_pattern = STATE_FORMAT.pattern
    binding_cookie = {
        "name": BINDING_COOKIE,
        "in": "cookie",
        "required": False,
        "description": "set by /auth/login: binds the sign-in to the browser that started it",
        "schema": {"type": "string"},
    }
    callback_params = [
        query(
            "code",
            {"type": "string", "minLength": 1, "maxLength": MAX_CODE_LEN, "pattern": NO_CONTROLS},
            required=True,
        ),
        query("state", {"type": "string", "pattern": state_pattern}, required=True),
        query("error", {"type": "string", "maxLength": MAX_ERROR_LEN, "pattern": NO_CONTROLS}),
        query(
            "error_description",
            {"type": "string", "maxLength": MAX_ERROR_LEN, "pattern": NO_CONTROLS},
        ),
    ]
    return {
        "/healthz": {
            "get": operation(
                "Liveness; the pid says which worker answered",
                {"200": json_body("alive", {"type": "object", "required": ["status", "pid"]})},
                overloadable=False,
            )
        },
        "/readyz": {
            "get": operation(
                "Readiness: MariaDB, Redis and RabbitMQ answer",
                {
                    "200": json_body("ready", ref("Readiness")),
                    "503": json_body("a server the service needs is away", ref("Readiness")),
                },
                overloadable=False,
            )
        },
        "/metrics": {
            "get": operation(
                "Prometheus metrics of all workers",
                {
                    "200": {
                        "description": "the text exposition format",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
                overloadable=False,
            )
        },
        "/openapi.json": {
            "get": operation(
                "This document",
                {"200": json_body("the document", {"type": "object"})},
                overloadable=False,
            )
        },
        "/auth/login": {
            "get": operation(
                "Start sign-in: redirects to the identity provider",
                {
                    "302": {
                        "description": "to the provider's authorize URL; the cookie binds the "
                        "sign-in to this browser (HttpOnly, SameSite=Lax, the state's lifetime)",
                        "headers": {
                            "Location": {"required": True, "schema": {"type": "string"}},
                            "Set-Cookie": {
                                "required": True,
                                "schema": {"type": "string", "pattern": f"^{BINDING_COOKIE}="},
                            },
                        },
                    },
                    "502": problem("the identity provider answered something unusable"),
                },
                parameters=[login_hint],
                rate_limited=True,
            )
        },
        "/auth/callback": {
            "get": operation(
                "Finish sign-in: the service's own tokens",
                {
                    "200": json_body("signed in", ref("Tokens")),
                    "403": problem(
                        "the sign-in was started in another browser, or this browser's sign-in "
                        "cookie is missing or expired (the state stays usable for its browser)"
                    ),
                    "502": problem("the identity provider answered something unusable"),
                },
                parameters=[*callback_params, binding_cookie],
                rate_limited=True,
            )
        },
        "/auth/refresh": {
            "post": operation(
                "Rotate a refresh token: a new pair; the old token is used up",
                {
                    "200": json_body("a new pair", ref("Tokens")),
                    "401": problem("an unknown, expired, used or revoked refresh token"),
                    "422": problem("refresh_token missing or not a string"),
                },
                body=REFRESH_BODY,
                rate_limited=True,
            )
        },
        "/auth/logout": {
            "post": operation(
                "Revoke a refresh token's family (unknown tokens: 204 too)",
                {
                    "204": {"description": "revoked"},
                    "422": problem("refresh_token missing or not a string"),
                },
                body=REFRESH_BODY,
            )
        },
        "/api/v1/concerts": {
            "get": operation(
                "Concerts on sale",
                {
                    "200": json_body(
                        "the concerts",
                        {
                            "type": "object",
                            "required": ["concerts"],
                            "properties": {"concerts": {"type": "array", "items": ref("Concert")}},
                        },
                        headers=READ_HEADERS,
                    )
                },
            )
        },
        "/api/v1/concerts/{concert_id}": {
            "get": operation(
                "One concert",
                {
                    "200": json_body("the concert", ref("Concert"), headers=READ_HEADERS),
                    "404": problem("no such concert"),
                },
                parameters=concert,
            )
        },
        "/api/v1/concerts/{concert_id}/zones": {
            "get": operation(
                "Zones with their remaining seats",
                {
                    "200": json_body(
                        "the zones",
                        {
                            "type": "object",
                            "required": ["zones"],
                            "properties": {"zones": {"type": "array", "items": ref("Zone")}},
                        },
                        headers=READ_HEADERS,
                    ),
                    "404": problem("no such concert"),
                },
                parameters=concert,
            )
        },
        "/api/v1/concerts/{concert_id}/zones/{zone}/seats": {
            "get": operation(
                "Seats of a zone, optionally of one row",
                {
                    "200": json_body(
                        "the seats",
                        {
                            "type": "object",
                            "required": ["seats"],
                            "properties": {"seats": {"type": "array", "items": ref("Seat")}},
                        },
                        headers=READ_HEADERS,
                    ),
                    "404": problem("no such concert or zone"),
                    "422": problem("row is not letters or digits"),
                },
                parameters=[*concert, zone, row],
            )
        },
        "/api/v1/concerts/{concert_id}/holds": {
            "post": operation(
                "Hold seats for the hold TTL",
                {
                    "201": json_body(
                        "held",
                        ref("Hold"),
                        headers={"Location": {"required": True, "schema": {"type": "string"}}},
                    ),
                    "404": problem("no such concert, or a seat not in it"),
                    "409": problem("a seat is taken, or the member's ticket limit is reached"),
                    "422": problem("seat_ids missing, empty, too long, repeated or not ids"),
                },
                parameters=concert,
                body=_seats_body(max_seats),
                secured=True,
                rate_limited=True,
            )
        },
        "/api/v1/holds/{hold_id}": {
            "get": operation(
                "One of my holds",
                {"200": json_body("the hold", ref("Hold")), "404": problem("no hold of mine")},
                parameters=hold,
                secured=True,
            ),
            "delete": operation(
                "Release one of my holds",
                {
                    "200": json_body("released", ref("Hold")),
                    "404": problem("no hold of mine"),
                    "409": problem("the hold is no longer active"),
                },
                parameters=hold,
                secured=True,
            ),
        },
        "/api/v1/holds/{hold_id}/reservation": {
            "post": operation(
                "Turn my hold into a reservation awaiting payment",
                {
                    "201": json_body("reserved", ref("Reservation")),
                    "404": problem("no hold of mine"),
                    "409": problem("the hold is expired, released or already reserved"),
                },
                parameters=hold,
                secured=True,
            )
        },
        "/api/v1/me/reservations": {
            "get": operation(
                "My reservations",
                {
                    "200": json_body(
                        "my reservations",
                        {
                            "type": "object",
                            "required": ["reservations"],
                            "properties": {
                                "reservations": {"type": "array", "items": ref("Reservation")}
                            },
                        },
                        headers=READ_HEADERS,
                    )
                },
                secured=True,
            )
        },
        "/api/v1/reservations/{reservation_id}/payment": {
            "post": operation(
                "Start paying my reservation: order id, the server's amount, checkout details",
                {
                    "200": json_body("what to send to the provider", ref("PaymentStart")),
                    "404": problem("no reservation of mine"),
                    "409": problem("the reservation expired or is not awaiting payment"),
                },
                parameters=[path_id("reservation_id")],
                secured=True,
            )
        },
        "/api/v1/payments/confirm": {
            "post": operation(
                "Confirm a payment with the provider",
                {
                    "200": json_body("confirmed", ref("Confirmation")),
                    "202": json_body(
                        "the outcome is unknown (timeout, provider 5xx): a webhook or the "
                        "reconciler settles it",
                        ref("Confirmation"),
                    ),
                    "402": problem("the provider declined the payment"),
                    "404": problem("no reservation of mine with that order id"),
                    "409": problem(
                        "an amount other than the order's (nothing sent to the provider), "
                        "paid too late (refunded), or not payable"
                    ),
                    "422": problem("a field is missing, of the wrong type or out of range"),
                    "502": problem("the provider answered something unusable"),
                },
                body=CONFIRM_BODY,
                secured=True,
                rate_limited=True,
            )
        },
        "/webhooks/psp": {
            "post": operation(
                "The provider's signed webhook (duplicates: 200, not applied twice)",
                {
                    "200": json_body(
                        "applied, a duplicate, or an event type the service ignores",
                        {"type": "object", "required": ["result"]},
                    ),
                    "401": problem("a missing, wrong or stale signature: nothing stored"),
                    "422": problem("a PAYMENT_STATUS_CHANGED event without its fields"),
                },
                parameters=WEBHOOK_HEADERS,
                body=WEBHOOK_BODY,
            )
        },
    }


@functools.cache
def document(max_seats_per_hold: int) -> dict[str, Any]:
    """The document for a service allowing ``max_seats_per_hold`` seats in one hold."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "ticketlab booking service", "version": "1"},
        "paths": _paths(max_seats_per_hold),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "responses": {"Problem": problem("RFC 9457 problem details")},
            "schemas": SCHEMAS,
        },
    }


async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(document(request.app[SETTINGS].max_seats_per_hold))

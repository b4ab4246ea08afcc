"""The OpenAPI document's paths: every route, the inputs it reads and the statuses it answers."""

from __future__ import annotations

from typing import Any

from service.adapters.oauth_state import STATE_FORMAT
from service.http.auth import BINDING_COOKIE, MAX_CODE_LEN, MAX_ERROR_LEN, MAX_LOGIN_HINT
from service.http.openapi.parts import (
    IF_NONE_MATCH,
    JSON,
    NO_CONTROLS,
    NOT_MODIFIED,
    cached_read,
    json_body,
    operation,
    path_id,
    problem,
    query,
    ref,
)
from service.http.openapi.schemas import (
    CONFIRM_BODY,
    REFRESH_BODY,
    WEBHOOK_BODY,
    WEBHOOK_HEADERS,
    seats_body,
)
from service.http.revalidation import COMPACT_MEDIA_TYPE, FORMS
from service.http.views import MAX_ROW_LEN


def paths(max_seats: int) -> dict[str, Any]:
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
    form = query("form", {"type": "string", "enum": list(FORMS)})
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
                    "200": cached_read(
                        "the concerts",
                        {
                            JSON: {
                                "type": "object",
                                "required": ["concerts"],
                                "properties": {
                                    "concerts": {"type": "array", "items": ref("Concert")}
                                },
                            }
                        },
                        versioned=False,
                    ),
                    "304": NOT_MODIFIED,
                },
                parameters=[IF_NONE_MATCH],
            )
        },
        "/api/v1/concerts/{concert_id}": {
            "get": operation(
                "One concert",
                {
                    "200": json_body("the concert", ref("Concert")),
                    "404": problem("no such concert"),
                },
                parameters=concert,
            )
        },
        "/api/v1/concerts/{concert_id}/zones": {
            "get": operation(
                "Zones with their remaining seats",
                {
                    "200": cached_read(
                        "the zones, with what is left in each (from the read model)",
                        {
                            JSON: {
                                "type": "object",
                                "required": ["zones"],
                                "properties": {"zones": {"type": "array", "items": ref("Zone")}},
                            }
                        },
                        versioned=True,
                    ),
                    "304": NOT_MODIFIED,
                    "404": problem("no such concert"),
                },
                parameters=[*concert, IF_NONE_MATCH],
            )
        },
        "/api/v1/concerts/{concert_id}/zones/{zone}/seats": {
            "get": operation(
                "Seats of a zone, optionally of one row: verbose, or compact (layout once and an"
                " availability bitmap) by ?form=compact or Accept: " + COMPACT_MEDIA_TYPE,
                {
                    "200": cached_read(
                        "the seats (gzip when accepted; ETag per zone version)",
                        {
                            JSON: {
                                "type": "object",
                                "required": ["seats"],
                                "properties": {"seats": {"type": "array", "items": ref("Seat")}},
                            },
                            COMPACT_MEDIA_TYPE: ref("CompactSeatMap"),
                        },
                        versioned=True,
                    ),
                    "304": NOT_MODIFIED,
                    "404": problem("no such concert or zone"),
                    "422": problem("row is not letters or digits, or form is not compact/verbose"),
                },
                parameters=[*concert, zone, row, form, IF_NONE_MATCH],
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
                body=seats_body(max_seats),
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

"""The OpenAPI 3.1 document served at /openapi.json.

Written by hand beside the routes it describes; ``tests/test_api_openapi.py`` checks that
every route is documented, so the two cannot drift apart silently.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

PROBLEM = {"$ref": "#/components/responses/Problem"}
AUTH = [{"bearer": []}]


def _op(summary: str, ok: str, *errors: str, secured: bool = False, body: Any = None) -> dict:
    op: dict[str, Any] = {
        "summary": summary,
        "responses": {ok: {"description": "success"}, **{code: PROBLEM for code in errors}},
    }
    if secured:
        op["security"] = AUTH
        op["responses"]["401"] = PROBLEM
    if body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return op


HOLD_BODY = {
    "type": "object",
    "required": ["seat_ids"],
    "additionalProperties": False,
    "properties": {
        "seat_ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1}
    },
}
CONFIRM_BODY = {
    "type": "object",
    "required": ["paymentKey", "orderId", "amount"],
    "additionalProperties": False,
    "properties": {
        "paymentKey": {"type": "string", "maxLength": 200},
        "orderId": {"type": "string", "maxLength": 64},
        "amount": {"type": "integer", "minimum": 1},
    },
}
ID_PARAM = {"schema": {"type": "integer", "minimum": 1}, "required": True, "in": "path"}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "ticketlab booking service", "version": "1"},
    "paths": {
        "/healthz": {"get": _op("Liveness", "200")},
        "/readyz": {"get": _op("Readiness: MariaDB, Redis and RabbitMQ answer", "200", "503")},
        "/metrics": {"get": _op("Prometheus metrics of all workers", "200")},
        "/openapi.json": {"get": _op("This document", "200")},
        "/auth/login": {"get": _op("Start sign-in; redirects to the identity provider", "302")},
        "/auth/callback": {"get": _op("Finish sign-in; returns tokens", "200", "400", "502")},
        "/auth/refresh": {"post": _op("Rotate a refresh token", "200", "400", "401")},
        "/auth/logout": {"post": _op("Revoke a refresh token's family", "204", "400")},
        "/api/v1/concerts": {"get": _op("Concerts on sale", "200")},
        "/api/v1/concerts/{concert_id}": {"get": _op("One concert", "200", "404")},
        "/api/v1/concerts/{concert_id}/zones": {
            "get": _op("Zones with their remaining seats", "200", "404")
        },
        "/api/v1/concerts/{concert_id}/zones/{zone}/seats": {
            "get": _op("Seats of a zone, optionally one row (?row=a)", "200", "404", "422")
        },
        "/api/v1/concerts/{concert_id}/holds": {
            "post": _op(
                "Hold seats for the hold TTL",
                "201",
                "400",
                "404",
                "409",
                "413",
                "422",
                "503",
                secured=True,
                body=HOLD_BODY,
            )
        },
        "/api/v1/holds/{hold_id}": {
            "get": _op("One of my holds", "200", "404", secured=True),
            "delete": _op("Release one of my holds", "200", "404", "409", secured=True),
        },
        "/api/v1/holds/{hold_id}/reservation": {
            "post": _op(
                "Turn my hold into a reservation awaiting payment",
                "201",
                "404",
                "409",
                secured=True,
            )
        },
        "/api/v1/me/reservations": {"get": _op("My reservations", "200", secured=True)},
        "/api/v1/reservations/{reservation_id}/payment": {
            "post": _op(
                "Start paying my reservation: order id, the server's amount, checkout details",
                "200",
                "404",
                "409",
                secured=True,
            )
        },
        "/api/v1/payments/confirm": {
            "post": _op(
                "Confirm a payment (202 while its outcome is unknown; 409 if refunded)",
                "200",
                "202",
                "400",
                "402",
                "404",
                "409",
                "422",
                "502",
                "503",
                secured=True,
                body=CONFIRM_BODY,
            )
        },
        "/webhooks/psp": {
            "post": _op(
                "The provider's signed PAYMENT_STATUS_CHANGED webhook (duplicates: 200)",
                "200",
                "400",
                "401",
                "503",
            )
        },
    },
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        "responses": {
            "Problem": {
                "description": "RFC 9457 problem details",
                "content": {
                    "application/problem+json": {
                        "schema": {
                            "type": "object",
                            "required": ["type", "title", "status"],
                            "properties": {
                                "type": {"type": "string"},
                                "title": {"type": "string"},
                                "status": {"type": "integer"},
                                "detail": {"type": "string"},
                                "errors": {"type": "object"},
                            },
                        }
                    }
                },
            }
        },
    },
}

for _path, _item in DOCUMENT["paths"].items():
    params = [
        dict(ID_PARAM, name=n)
        for n in ("concert_id", "hold_id", "reservation_id")
        if "{" + n + "}" in _path
    ]
    if "{zone}" in _path:
        params.append(
            {"name": "zone", "in": "path", "required": True, "schema": {"type": "string"}}
        )
    if params:
        for _operation in _item.values():
            _operation["parameters"] = params


async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(DOCUMENT)

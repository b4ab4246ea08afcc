"""The OpenAPI document's schemas: what answers hold and what request bodies may carry.

The limits come from the parsers that enforce them, so the document and the code cannot drift.
"""

from __future__ import annotations

from typing import Any

from service.adapters.psp_client import SIGNATURE_HEADER, TRANSMISSION_TIME_HEADER
from service.adapters.tokens import MAX_REFRESH_TOKEN_LEN
from service.http.openapi.parts import PRINTABLE_ASCII
from service.http.parsing import MAX_EXACT_FLOAT_INT
from service.http.payments import MAX_AMOUNT, MAX_ORDER_ID, MAX_PAYMENT_KEY

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
    "CompactSeatMap": {
        "description": (
            "The layout once and availability as a bitmap. rows: [label, id runs, number"
            " runs, price runs], runs as flat [start, length, …] pairs of consecutive values"
            " (prices: [price, length, …]); available: base64, one bit per seat in that order,"
            " most significant bit first, 1 = AVAILABLE."
        ),
        "type": "object",
        "required": ["format", "zone_code", "version", "seats", "rows", "available"],
        "properties": {
            "format": {"type": "string", "enum": ["ticketlab.seatmap.v1"]},
            "zone_code": {"type": "string"},
            "version": {"type": "integer", "minimum": 0},
            "seats": {"type": "integer", "minimum": 0},
            "rows": {
                "type": "array",
                "description": "[label, id runs, number runs, price runs] per row",
                "items": {"type": "array", "minItems": 4, "maxItems": 4},
            },
            "available": {"type": "string", "contentEncoding": "base64"},
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


def seats_body(max_seats: int) -> dict[str, Any]:
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

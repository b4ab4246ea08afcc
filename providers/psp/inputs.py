"""Request bodies, checked field by field so bad input is a 400 that names the field.

Unknown fields are ignored (Toss accepts optional extras); missing fields, wrong types,
non-positive amounts and malformed ids are refused with ``INVALID_REQUEST``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from providers.psp.errors import invalid

# Toss: orderId is 6-64 characters of letters, digits, '-' and '_'.
ORDER_ID = re.compile(r"[A-Za-z0-9_-]{6,64}")
MAX_AMOUNT = 10**12


def parse_json(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise invalid("The request body must be a JSON object.")
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise invalid(f"Malformed JSON: {exc}") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.")
    return body


def _text(body: dict[str, Any], name: str, *, max_len: int) -> str:
    value = body.get(name)
    if value is None:
        raise invalid(f"'{name}' is required.")
    if not isinstance(value, str) or not value.strip():
        raise invalid(f"'{name}' must be a non-empty string.")
    if len(value) > max_len:
        raise invalid(f"'{name}' must be at most {max_len} characters.")
    return value


def _amount(body: dict[str, Any], name: str) -> int:
    value = body.get(name)
    if value is None:
        raise invalid(f"'{name}' is required.")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(f"'{name}' must be an integer amount in KRW.")
    if value <= 0 or value > MAX_AMOUNT:
        raise invalid(f"'{name}' must be a positive amount, got {value}.")
    return value


def _order_id(body: dict[str, Any]) -> str:
    order_id = _text(body, "orderId", max_len=64)
    if not ORDER_ID.fullmatch(order_id):
        raise invalid("'orderId' must be 6-64 characters of letters, digits, '-' or '_'.")
    return order_id


@dataclass(frozen=True)
class CheckoutRequest:
    order_id: str
    order_name: str
    amount: int
    success_url: str | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CheckoutRequest:
        success_url = None
        if body.get("successUrl") is not None:
            success_url = _text(body, "successUrl", max_len=2000)
        return cls(
            _order_id(body),
            _text(body, "orderName", max_len=100),
            _amount(body, "amount"),
            success_url,
        )


@dataclass(frozen=True)
class ConfirmRequest:
    payment_key: str
    order_id: str
    amount: int

    @classmethod
    def parse(cls, body: dict[str, Any]) -> ConfirmRequest:
        return cls(_text(body, "paymentKey", max_len=200), _order_id(body), _amount(body, "amount"))


@dataclass(frozen=True)
class CancelRequest:
    reason: str
    amount: int | None

    @classmethod
    def parse(cls, body: dict[str, Any]) -> CancelRequest:
        amount = None
        if body.get("cancelAmount") is not None:
            amount = _amount(body, "cancelAmount")
        return cls(_text(body, "cancelReason", max_len=200), amount)

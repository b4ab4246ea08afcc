"""Payment views: start a payment, confirm it, and the provider's webhook.

They call the payment use cases with ``Dependencies.payments``; payment problems reach
``problem_middleware`` like every other domain error (402 declined, 409 an amount other
than the order's, refunded or not payable, 502/503 provider trouble).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from service import metrics
from service.adapters.psp_client import (
    SIGNATURE_HEADER,
    TRANSMISSION_TIME_HEADER,
    verify_webhook,
)
from service.bootstrap import DEPS, SETTINGS
from service.domain.errors import InvalidRequest, MalformedInput
from service.domain.payments import InvalidWebhookSignature, ProviderPayment
from service.http.auth import current_member
from service.http.parsing import (
    as_int,
    parse_json_object,
    path_id,
    read_json_object,
    reject_unknown_fields,
)
from service.http.serialize import json_response
from service.request_id import current_request_id
from service.usecases.payments.confirm import confirm_payment
from service.usecases.payments.start import start_payment
from service.usecases.payments.webhooks import WebhookEvent, receive_webhook

MAX_PAYMENT_KEY = 200
MAX_ORDER_ID = 64
MAX_AMOUNT = 10**10


async def start(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    reservation_id = path_id(request, "reservation_id", "reservation")
    return json_response(await start_payment(request.app[DEPS].payments, member_id, reservation_id))


def _string(body: dict[str, Any], name: str, max_len: int, *, min_len: int = 1) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not min_len <= len(value) <= max_len:
        raise InvalidRequest(
            f"{name} must be a string of {min_len} to {max_len} characters",
            {name: "required string"},
        )
    if not value.isascii() or not value.isprintable():
        raise InvalidRequest(f"{name} must be printable ASCII", {name: "printable ASCII"})
    return value


def _amount(body: dict[str, Any]) -> int:
    value = as_int(body.get("amount"))
    if value is None or not 0 < value <= MAX_AMOUNT:
        raise InvalidRequest(
            f"amount must be an integer from 1 to {MAX_AMOUNT}", {"amount": "positive integer"}
        )
    return value


async def confirm(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    body = await read_json_object(request)
    reject_unknown_fields(body, {"paymentKey", "orderId", "amount"})
    payment_key = _string(body, "paymentKey", MAX_PAYMENT_KEY)
    order_id = _string(body, "orderId", MAX_ORDER_ID)
    amount = _amount(body)
    result = await confirm_payment(
        request.app[DEPS].payments, member_id, payment_key, order_id, amount, current_request_id()
    )
    return json_response(result, status=200 if result.status == "CONFIRMED" else 202)


async def webhook(request: web.Request) -> web.Response:
    """401 before anything is stored when the signature fails; 200 for duplicates."""
    settings, deps = request.app[SETTINGS], request.app[DEPS].payments
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedInput("the webhook body is not UTF-8") from None
    refused = verify_webhook(
        settings.webhook_signing_secret,
        text,
        request.headers.get(TRANSMISSION_TIME_HEADER),
        request.headers.get(SIGNATURE_HEADER),
        deps.clock.now(),
        settings.webhook_tolerance_s,
    )
    if refused is not None:
        _count_webhook("forged")
        raise InvalidWebhookSignature(refused)
    event = _parse_event(text)
    if event is None:
        _count_webhook("ignored")
        return web.json_response({"result": "ignored"})
    applied = await receive_webhook(deps, event, current_request_id())
    result = "duplicate" if applied.duplicate else "applied"
    _count_webhook(result)
    return web.json_response({"result": result, "eventId": event.event_id})


def _count_webhook(result: str) -> None:
    metrics.webhooks_received.labels(result=result).inc()


def _parse_event(text: str) -> WebhookEvent | None:
    """A PAYMENT_STATUS_CHANGED event, or None for event types the service does not use."""
    body = parse_json_object(text, "the webhook body")
    if body.get("eventType") != "PAYMENT_STATUS_CHANGED":
        return None
    event_id, data = body.get("eventId"), body.get("data")
    if not isinstance(event_id, str) or not 0 < len(event_id) <= 64 or not isinstance(data, dict):
        raise InvalidRequest("eventId and data are required", {"eventId": "required"})
    try:
        reported = ProviderPayment.from_toss(data)
    except ValueError as exc:
        raise InvalidRequest(f"data is not a payment: {exc}") from None
    return WebhookEvent(
        event_id=event_id,
        event_type=body["eventType"],
        payment_key=reported.payment_key,
        order_id=reported.order_id,
        reported=reported,
    )

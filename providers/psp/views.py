"""HTTP handlers: Toss's v1 payment API, the checkout stand-in, and the lab's admin routes.

Handlers only translate HTTP to operations and back; the JSON error shape and the
"never a 500 for bad input" rule live in the app's middleware.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from functools import partial
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from providers.psp import operations
from providers.psp.errors import PspError
from providers.psp.faults import Faults, FaultsError
from providers.psp.idempotency import check_key, fingerprint
from providers.psp.inputs import CancelRequest, CheckoutRequest, ConfirmRequest, parse_json
from providers.psp.outcomes import Outcome
from providers.psp.state import STATE, PspState

dumps = partial(json.dumps, ensure_ascii=False)
HANGUP_POLL_S = 0.05


def reply(status: int, body: Any) -> web.Response:
    return web.json_response(body, status=status, dumps=dumps)


def authorize(request: web.Request, state: PspState) -> None:
    """Toss's Basic auth: base64 of the secret key and a colon (no password)."""
    header = request.headers.get("Authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() != "basic" or not credentials:
        raise PspError("UNAUTHORIZED_KEY", "Basic authorization with the secret key is required.")
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise PspError("UNAUTHORIZED_KEY", "The Basic credentials are not valid base64.") from None
    if not hmac.compare_digest(decoded.encode(), f"{state.config.secret_key}:".encode()):
        raise PspError(
            "UNAUTHORIZED_KEY",
            "Unauthorized secret key (encode the secret key followed by ':').",
        )


def call_context(request: web.Request) -> operations.CallContext:
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        check_key(key)
    return operations.CallContext(request.headers.get("X-Request-Id"), key)


async def answer(request: web.Request, state: PspState, outcome: Outcome) -> web.Response:
    """Send the outcome, late or not at all if a timeout fault says so."""
    if outcome.hold == "late":
        await state.pause(outcome.hold_s)
    elif outcome.hold == "never":
        while not state.closing.is_set():
            transport = request.transport
            if transport is None or transport.is_closing():
                break
            await state.pause(HANGUP_POLL_S)
    return reply(outcome.answer.status, outcome.answer.body)


async def checkout(request: web.Request) -> web.Response:
    state = request.app[STATE]
    req = CheckoutRequest.parse(parse_json(await request.read()))
    payment = operations.checkout(state, req)
    body: dict[str, Any] = {**payment.to_toss(), "amount": payment.total_amount}
    if req.success_url:
        query = urlencode(
            {"paymentKey": payment.payment_key, "orderId": req.order_id, "amount": req.amount}
        )
        separator = "&" if "?" in req.success_url else "?"
        body["redirectUrl"] = f"{req.success_url}{separator}{query}"
    return reply(200, body)


async def confirm(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authorize(request, state)
    ctx = call_context(request)
    body = parse_json(await request.read())
    req = ConfirmRequest.parse(body)

    async def run() -> Outcome:
        return await operations.confirm(state, req, ctx)

    if ctx.idempotency_key:
        outcome = await state.idempotency.run(
            request.path, ctx.idempotency_key, fingerprint(body), run
        )
    else:
        outcome = await run()
    state.record_request("confirm", req.payment_key, ctx.request_id, ctx.idempotency_key, outcome)
    return await answer(request, state, outcome)


async def cancel(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authorize(request, state)
    ctx = call_context(request)
    payment_key = request.match_info["payment_key"]
    body = parse_json(await request.read())
    req = CancelRequest.parse(body)

    async def run() -> Outcome:
        return await operations.cancel(state, payment_key, req, ctx)

    if ctx.idempotency_key:
        outcome = await state.idempotency.run(
            request.path, ctx.idempotency_key, fingerprint(body), run
        )
    else:
        outcome = await run()
    state.record_request("cancel", payment_key, ctx.request_id, ctx.idempotency_key, outcome)
    return await answer(request, state, outcome)


async def get_payment(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authorize(request, state)
    payment = operations.find(state, request.match_info["payment_key"])
    return reply(200, payment.to_toss())


async def get_payment_by_order(request: web.Request) -> web.Response:
    state = request.app[STATE]
    authorize(request, state)
    payment = operations.find_by_order(state, request.match_info["order_id"])
    return reply(200, payment.to_toss())


async def ledger(request: web.Request) -> web.Response:
    return reply(200, request.app[STATE].ledger())


async def deliveries(request: web.Request) -> web.Response:
    state = request.app[STATE]
    open_checkouts = state.open_checkouts()
    return reply(200, {"pending": state.pending_deliveries, "openCheckouts": open_checkouts})


async def get_faults(request: web.Request) -> web.Response:
    return reply(200, request.app[STATE].faults.to_json())


async def put_faults(request: web.Request) -> web.Response:
    state = request.app[STATE]
    raw = await request.read()
    try:
        faults = Faults.from_text(raw.decode("utf-8", errors="replace"))
    except FaultsError as exc:
        return reply(400, {"code": "INVALID_FAULTS", "message": str(exc), "field": exc.field})
    state.faults = faults
    return reply(200, faults.to_json())


async def readyz(request: web.Request) -> web.Response:
    return reply(200, {"status": "ok"})


def routes() -> list[web.RouteDef]:
    return [
        web.post("/_lab/checkout", checkout),
        web.post("/v1/payments/confirm", confirm),
        web.get("/v1/payments/orders/{order_id}", get_payment_by_order),
        web.get("/v1/payments/{payment_key}", get_payment),
        web.post("/v1/payments/{payment_key}/cancel", cancel),
        web.get("/_lab/ledger", ledger),
        web.get("/_lab/deliveries", deliveries),
        web.get("/_lab/faults", get_faults),
        web.put("/_lab/faults", put_faults),
        web.get("/readyz", readyz),
    ]

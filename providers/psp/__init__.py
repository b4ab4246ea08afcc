"""A payment provider simulator shaped like Toss Payments' v1 API, with switchable faults.

Run alone: ``python -m providers.psp --port 9100 --webhook-url http://127.0.0.1:8080/webhooks/psp``
(``--secret-key``, ``--webhook-secret``, ``--time-scale``, ``--seed``, ``--faults JSON`` or
``--faults-file PATH``, ``--checkout-ttl``). In code: ``create_app(PspConfig(...))``.

The checkout path, standing in for the browser widget (no auth)::

    POST /_lab/checkout {orderId, orderName, amount, successUrl?}
      -> 200 Payment object (status READY) + "amount" (+ "redirectUrl" when successUrl given:
         successUrl?paymentKey=…&orderId=…&amount=…, what Toss redirects the browser to)

Toss v1 API (HTTP Basic: base64 of ``secret_key + ":"``; errors are ``{code, message}``)::

    POST /v1/payments/confirm {paymentKey, orderId, amount}   Idempotency-Key, X-Request-Id
    GET  /v1/payments/{paymentKey}
    GET  /v1/payments/orders/{orderId}
    POST /v1/payments/{paymentKey}/cancel {cancelReason, cancelAmount?}   Idempotency-Key

Webhooks: ``PAYMENT_STATUS_CHANGED`` POSTed to the webhook URL on every status change,
body ``{eventType, eventId, createdAt, data: Payment}``, signed with
``tosspayments-webhook-signature: v1:<base64 HMAC-SHA256(secret, f"{body}:{time}")>`` and
``tosspayments-webhook-transmission-time: <time>``; retried up to 7 times after 1, 4, 16,
64, 256, 1024 and 4096 minutes × ``time_scale``. (Toss signs only some event types; this
simulator signs all, so the receiver's verification is always exercised.)

The lab's admin routes (no auth)::

    GET /_lab/ledger       payments (status history, captures, refunds, request ids),
                           confirm/cancel calls, webhook deliveries, pendingDeliveries, totals
    GET /_lab/deliveries   {"pending": n, "openCheckouts": m}: webhook chains not finished,
                           and checkouts that will still confirm or expire (wait for 0, 0)
    GET /_lab/faults       the fault set in force
    PUT /_lab/faults       replace it (schema in ``faults.py``; 400 naming the field if bad)
    GET /readyz            200 once serving
"""

from providers.psp.app import create_app
from providers.psp.config import PspConfig
from providers.psp.faults import Faults

__all__ = ["Faults", "PspConfig", "create_app"]

"""The payment provider's client: Toss's v1 API over one pooled aiohttp session per process.

Every call has a timeout, sends HTTP Basic auth (the secret key and a colon) and the
request's ``X-Request-Id`` (from the telemetry context variable), so one id can be followed
from the client through the service's log lines to the provider's ledger. Nothing raises
for the provider's trouble: each call returns a typed result — the payment, the provider's
refusal (its Toss ``code``), or "unreachable" with whether the request may have been
processed (the types are the ``PaymentGateway`` port's) — because the caller's next step
(apply, give up, ask again) depends on which.

The ``fd-leak`` defect reproduces the seed's story: a new ``ClientSession`` per call that is
never closed, so every call leaves a socket (and its buffers) behind for the process's life.
The leaked sessions are kept referenced (a garbage-collected session would close its
socket and hide the leak) and closed only at shutdown; their connectors keep idle
connections without a timeout (``keepalive_timeout=None``, as the defective code configured
them to "reuse" connections), so nothing on the client side ever closes the socket.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from service import metrics
from service.config import Settings
from service.domain.payments import ProviderPayment
from service.ports import PaymentGateway, Refused, Result, Unreachable
from service.request_id import current_request_id

log = logging.getLogger(__name__)


def basic_auth(secret_key: str) -> str:
    return "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode()


class PspClient(PaymentGateway):
    """Toss's confirm, query and cancel calls; ``start``/``close`` bound the pooled session."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.base_url = settings.psp_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(
            total=settings.psp_timeout_s, connect=min(2.0, settings.psp_timeout_s)
        )
        self.leak = settings.has_defect("fd-leak")
        self._session: aiohttp.ClientSession | None = None
        self.leaked: list[aiohttp.ClientSession] = []
        self._auth = basic_auth(settings.psp_secret_key)

    def _new_session(self, keep_idle_forever: bool = False) -> aiohttp.ClientSession:
        idle = {"keepalive_timeout": None} if keep_idle_forever else {}
        return aiohttp.ClientSession(
            timeout=self.timeout,
            connector=aiohttp.TCPConnector(limit=self.settings.psp_pool_size, **idle),
        )

    async def start(self) -> None:
        if self._session is None:
            self._session = self._new_session()

    async def close(self) -> None:
        session, self._session = self._session, None
        leaked, self.leaked = self.leaked, []
        for each in [*leaked, *([session] if session else [])]:
            await each.close()

    def _session_for_call(self) -> aiohttp.ClientSession:
        if self.leak:
            session = self._new_session(keep_idle_forever=True)  # the defect: never closed
            self.leaked.append(session)
            return session
        if self._session is None:
            raise RuntimeError("PspClient.start() was not awaited")
        return self._session

    async def confirm(
        self, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> Result:
        body = {"paymentKey": payment_key, "orderId": order_id, "amount": amount}
        return await self._call(
            "confirm", "POST", "/v1/payments/confirm", body, idempotency_key=idempotency_key
        )

    async def get_payment(self, payment_key: str) -> Result:
        return await self._call("get", "GET", f"/v1/payments/{quote(payment_key, safe='')}")

    async def cancel(self, payment_key: str, reason: str, idempotency_key: str) -> Result:
        path = f"/v1/payments/{quote(payment_key, safe='')}/cancel"
        return await self._call(
            "cancel", "POST", path, {"cancelReason": reason}, idempotency_key=idempotency_key
        )

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> Result:
        headers = {"Authorization": self._auth}
        request_id = current_request_id()
        if request_id:
            headers["X-Request-Id"] = request_id
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        started = time.perf_counter()
        result = await self._send(method, path, body, headers)
        label = type(result).__name__.lower() if not isinstance(result, ProviderPayment) else "ok"
        metrics.psp_call_seconds.labels(operation, label).observe(time.perf_counter() - started)
        if not isinstance(result, ProviderPayment):
            log.info("psp %s %s: %s", operation, path, result)
        return result

    async def _send(
        self, method: str, path: str, body: dict[str, Any] | None, headers: dict[str, str]
    ) -> Result:
        session = self._session_for_call()
        try:
            async with session.request(
                method, self.base_url + path, json=body, headers=headers
            ) as response:
                status = response.status
                text = await response.text()
        except aiohttp.ClientConnectorError as exc:
            return Unreachable(f"cannot connect: {exc}", maybe_processed=False)
        except TimeoutError:
            return Unreachable(f"no answer within {self.settings.psp_timeout_s}s", True)
        except aiohttp.ClientError as exc:
            return Unreachable(f"{type(exc).__name__}: {exc}", maybe_processed=True)
        return _interpret(status, text)


def _interpret(status: int, text: str) -> Result:
    try:
        document = json.loads(text) if text else None
    except ValueError:
        document = None
    if status >= 500:
        code = document.get("code") if isinstance(document, dict) else None
        return Unreachable(f"provider answered {status} {code or ''}".strip(), True)
    if 200 <= status < 300:
        try:
            return ProviderPayment.from_toss(document)
        except ValueError as exc:
            return Unreachable(f"unusable answer: {exc}", maybe_processed=True)
    if isinstance(document, dict) and isinstance(document.get("code"), str):
        return Refused(status, document["code"], str(document.get("message", "")))
    return Refused(status, f"HTTP_{status}", text[:200])


SIGNATURE_HEADER = "tosspayments-webhook-signature"
TRANSMISSION_TIME_HEADER = "tosspayments-webhook-transmission-time"


def webhook_signature(secret: str, payload: str, transmission_time: str) -> str:
    """Toss's scheme: ``v1:`` + base64 HMAC-SHA256(secret, f"{payload}:{time}")."""
    digest = hmac.new(
        secret.encode(), f"{payload}:{transmission_time}".encode(), hashlib.sha256
    ).digest()
    return "v1:" + base64.b64encode(digest).decode()


def verify_webhook(
    secret: str,
    payload: str,
    transmission_time: str | None,
    header: str | None,
    now: datetime,
    tolerance_s: float,
) -> str | None:
    """None when the delivery is authentic and fresh; otherwise why it is refused.

    The transmission time is signed with the body, so checking its age stops an attacker
    from replaying a captured delivery later. Several ``v1:`` values may be sent while the
    provider rotates keys; any one matching is enough.
    """
    if not header or not transmission_time:
        return "the signature or transmission-time header is missing"
    try:
        sent = datetime.fromisoformat(transmission_time)
    except ValueError:
        return "the transmission time is not ISO 8601"
    if sent.tzinfo is None:
        return "the transmission time has no UTC offset"
    if abs((now - sent).total_seconds()) > tolerance_s:
        return "the transmission time is too far from now (a replay?)"
    expected = webhook_signature(secret, payload, transmission_time).encode()
    if not any(_signature_matches(c, expected) for c in header.split(",")):
        return "the signature does not match"
    return None


def _signature_matches(candidate: str, expected: bytes) -> bool:
    """Constant-time compare of one header value; anything non-ASCII simply does not match.

    ``hmac.compare_digest`` raises TypeError for non-ASCII str, and header values may even hold
    surrogates (undecodable bytes), which ``str.encode`` refuses: either would be a 500 for
    what is only a forged signature. Signatures are base64, so ASCII is all a real one uses.
    """
    candidate = candidate.strip()
    if not candidate.isascii():
        return False
    return hmac.compare_digest(candidate.encode("ascii"), expected)

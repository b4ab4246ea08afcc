"""Toss's webhook signature, so receivers can prove a delivery came from the provider.

``tosspayments-webhook-signature: v1:<base64 HMAC-SHA256(secret, f"{payload}:{time}")>``
with ``tosspayments-webhook-transmission-time`` carrying ``time`` verbatim. Toss may send
several comma-separated ``v1:`` values while rotating keys, so ``verify`` accepts any.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "tosspayments-webhook-signature"
TRANSMISSION_TIME_HEADER = "tosspayments-webhook-transmission-time"


def signature(secret: str, payload: str, transmission_time: str) -> str:
    digest = hmac.new(
        secret.encode(), f"{payload}:{transmission_time}".encode(), hashlib.sha256
    ).digest()
    return "v1:" + base64.b64encode(digest).decode()


def verify(secret: str, payload: str, transmission_time: str, header: str) -> bool:
    expected = signature(secret, payload, transmission_time)
    return any(hmac.compare_digest(candidate.strip(), expected) for candidate in header.split(","))

"""Toss-style error answers: ``{code, message}`` with the HTTP status Toss uses for the code.

Clients branch on ``code`` (and on the status class for retries), so the pairing of code
and status follows Toss's published error table rather than being picked per call site.
"""

from __future__ import annotations

from typing import Any

# code -> (HTTP status, default message). Statuses follow Toss's error-code reference.
TOSS_ERRORS: dict[str, tuple[int, str]] = {
    "INVALID_REQUEST": (400, "The bad request."),
    "ALREADY_PROCESSED_PAYMENT": (400, "This is a payment that has already been processed."),
    "ALREADY_CANCELED_PAYMENT": (400, "This is a payment that has already been canceled."),
    "DUPLICATED_ORDER_ID": (400, "The orderId has already been approved or canceled."),
    "UNAUTHORIZED_KEY": (401, "Unauthorized secret key or client key."),
    "REJECT_CARD_PAYMENT": (403, "Rejected by the card issuer: limit exceeded or balance low."),
    "NOT_CANCELABLE_PAYMENT": (403, "This payment cannot be canceled."),
    "NOT_CANCELABLE_AMOUNT": (403, "The cancel amount exceeds the cancelable balance."),
    "NOT_FOUND_PAYMENT": (404, "The payment does not exist."),
    "NOT_FOUND_PAYMENT_SESSION": (
        404,
        "The payment session has expired or does not match this order.",
    ),
    "NOT_FOUND": (404, "The resource does not exist."),
    "FAILED_PAYMENT_INTERNAL_SYSTEM_PROCESSING": (
        500,
        "The payment was not completed because of an internal error. Try again.",
    ),
    "FAILED_INTERNAL_SYSTEM_PROCESSING": (500, "An internal error occurred."),
}


class PspError(Exception):
    """An answer the provider gives instead of a payment; views turn it into JSON."""

    def __init__(self, code: str, message: str | None = None, status: int | None = None) -> None:
        default_status, default_message = TOSS_ERRORS.get(code, (400, code))
        self.code = code
        self.message = message or default_message
        self.status = status or default_status
        super().__init__(f"{self.status} {code}: {self.message}")

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


def invalid(message: str) -> PspError:
    """Bad input: always a 4xx naming what was wrong, never a 500."""
    return PspError("INVALID_REQUEST", message)

"""The payment and its state machine, pure: no I/O and no clock (only fresh random ids).

Times come in as arguments so the same transitions can be replayed in tests, and every
status change is appended to the payment's history, because the lab's invariants are
checked against that history rather than against the latest status alone.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from providers.psp.errors import PspError

KST = timezone(timedelta(hours=9), "KST")
API_VERSION = "2022-11-16"


class Status(enum.StrEnum):
    READY = "READY"
    IN_PROGRESS = "IN_PROGRESS"
    DONE = "DONE"
    PARTIAL_CANCELED = "PARTIAL_CANCELED"
    CANCELED = "CANCELED"
    ABORTED = "ABORTED"
    EXPIRED = "EXPIRED"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.READY: frozenset({Status.IN_PROGRESS, Status.EXPIRED, Status.ABORTED}),
    Status.IN_PROGRESS: frozenset({Status.DONE, Status.ABORTED, Status.EXPIRED}),
    Status.DONE: frozenset({Status.PARTIAL_CANCELED, Status.CANCELED}),
    Status.PARTIAL_CANCELED: frozenset({Status.PARTIAL_CANCELED, Status.CANCELED}),
    Status.CANCELED: frozenset(),
    Status.ABORTED: frozenset(),
    Status.EXPIRED: frozenset(),
}
CONFIRMABLE = frozenset({Status.READY, Status.IN_PROGRESS})
CANCELABLE = frozenset({Status.DONE, Status.PARTIAL_CANCELED})


def toss_time(at: datetime) -> str:
    """Toss writes times in KST with an offset and no fraction, e.g. 2024-02-01T12:00:00+09:00."""
    return at.astimezone(KST).isoformat(timespec="seconds")


def lab_time(at: datetime) -> str:
    """The ledger keeps UTC with milliseconds: the lab orders events closer than a second."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds")


def new_key(prefix: str, nbytes: int = 18) -> str:
    return prefix + secrets.token_hex(nbytes)


@dataclass
class StatusChange:
    status: Status
    at: datetime


@dataclass
class Cancel:
    amount: int
    reason: str
    at: datetime
    refundable_after: int
    transaction_key: str
    request_id: str | None = None
    idempotency_key: str | None = None

    def to_toss(self) -> dict[str, Any]:
        return {
            "transactionKey": self.transaction_key,
            "cancelReason": self.reason,
            "taxExemptionAmount": 0,
            "canceledAt": toss_time(self.at),
            "transferDiscountAmount": 0,
            "easyPayDiscountAmount": 0,
            "receiptKey": None,
            "cancelAmount": self.amount,
            "taxFreeAmount": 0,
            "refundableAmount": self.refundable_after,
            "cancelStatus": "DONE",
            "cancelRequestId": None,
        }


@dataclass
class Capture:
    amount: int
    at: datetime
    request_id: str | None
    idempotency_key: str | None


@dataclass
class Payment:
    payment_key: str
    order_id: str
    order_name: str
    total_amount: int
    m_id: str
    requested_at: datetime
    status: Status = Status.READY
    balance_amount: int = 0
    approved_at: datetime | None = None
    last_transaction_key: str | None = None
    failure: dict[str, str] | None = None
    history: list[StatusChange] = field(default_factory=list)
    captures: list[Capture] = field(default_factory=list)
    cancels: list[Cancel] = field(default_factory=list)
    request_ids: list[str] = field(default_factory=list)
    confirming: bool = False
    card_number: str = "43301234****123*"
    approve_no: str = "00000000"

    @classmethod
    def open(
        cls, *, order_id: str, order_name: str, amount: int, m_id: str, at: datetime
    ) -> Payment:
        payment = cls(
            payment_key=new_key("tlpk_"),
            order_id=order_id,
            order_name=order_name,
            total_amount=amount,
            balance_amount=amount,
            m_id=m_id,
            requested_at=at,
        )
        payment.history.append(StatusChange(Status.READY, at))
        return payment

    def move(self, status: Status, at: datetime) -> None:
        """Every change goes through here so history and webhooks never miss one."""
        if status not in TRANSITIONS[self.status]:
            raise ValueError(f"{self.payment_key}: {self.status} -> {status} is not allowed")
        self.status = status
        self.history.append(StatusChange(status, at))

    def is_expired(self, now: datetime, ttl_s: float) -> bool:
        return self.status in CONFIRMABLE and (now - self.requested_at).total_seconds() >= ttl_s

    def approve(self, at: datetime, request_id: str | None, idempotency_key: str | None) -> None:
        if self.status is Status.READY:
            self.move(Status.IN_PROGRESS, at)
        self.move(Status.DONE, at)
        self.approved_at = at
        self.last_transaction_key = new_key("tltx_", 12)
        self.approve_no = f"{secrets.randbelow(10**8):08d}"
        self.captures.append(Capture(self.total_amount, at, request_id, idempotency_key))

    def abort(self, at: datetime, code: str, message: str) -> None:
        self.move(Status.ABORTED, at)
        self.failure = {"code": code, "message": message}

    def cancel(
        self,
        *,
        reason: str,
        amount: int | None,
        at: datetime,
        request_id: str | None,
        idempotency_key: str | None,
    ) -> Cancel:
        """Refund all or part of the balance; the payment ends CANCELED when nothing is left."""
        if self.status is Status.CANCELED:
            raise PspError("ALREADY_CANCELED_PAYMENT")
        if self.status not in CANCELABLE:
            raise PspError("NOT_CANCELABLE_PAYMENT", f"A {self.status} payment cannot be canceled.")
        amount = self.balance_amount if amount is None else amount
        if amount > self.balance_amount:
            raise PspError(
                "NOT_CANCELABLE_AMOUNT",
                f"cancelAmount {amount} exceeds the cancelable balance {self.balance_amount}.",
            )
        self.balance_amount -= amount
        entry = Cancel(
            amount=amount,
            reason=reason,
            at=at,
            refundable_after=self.balance_amount,
            transaction_key=new_key("tltx_", 12),
            request_id=request_id,
            idempotency_key=idempotency_key,
        )
        self.cancels.append(entry)
        self.last_transaction_key = entry.transaction_key
        self.move(Status.CANCELED if self.balance_amount == 0 else Status.PARTIAL_CANCELED, at)
        return entry

    @property
    def captured_amount(self) -> int:
        return sum(c.amount for c in self.captures)

    @property
    def refunded_amount(self) -> int:
        return sum(c.amount for c in self.cancels)

    def to_toss(self) -> dict[str, Any]:
        """Toss's Payment object (API version 2022-11-16), card payments only."""
        approved = self.approved_at is not None
        vat = round(self.balance_amount / 11)
        return {
            "mId": self.m_id,
            "lastTransactionKey": self.last_transaction_key,
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "taxExemptionAmount": 0,
            "status": str(self.status),
            "requestedAt": toss_time(self.requested_at),
            "approvedAt": toss_time(self.approved_at) if self.approved_at else None,
            "useEscrow": False,
            "cultureExpense": False,
            "card": self._card() if approved else None,
            "virtualAccount": None,
            "transfer": None,
            "mobilePhone": None,
            "giftCertificate": None,
            "cashReceipt": None,
            "cashReceipts": None,
            "discount": None,
            "cancels": [c.to_toss() for c in self.cancels] or None,
            "secret": None,
            "type": "NORMAL",
            "easyPay": None,
            "country": "KR",
            "failure": self.failure,
            "isPartialCancelable": True,
            "receipt": {"url": f"https://psp.invalid/receipt/{self.payment_key}"}
            if approved
            else None,
            "checkout": {"url": f"https://psp.invalid/checkout/{self.payment_key}"},
            "currency": "KRW",
            "totalAmount": self.total_amount,
            "balanceAmount": self.balance_amount,
            "suppliedAmount": self.balance_amount - vat,
            "vat": vat,
            "taxFreeAmount": 0,
            "method": "카드" if approved else None,
            "version": API_VERSION,
        }

    def _card(self) -> dict[str, Any]:
        return {
            "issuerCode": "71",
            "acquirerCode": "71",
            "number": self.card_number,
            "installmentPlanMonths": 0,
            "isInterestFree": False,
            "interestPayer": None,
            "approveNo": self.approve_no,
            "useCardPoint": False,
            "cardType": "신용",
            "ownerType": "개인",
            "acquireStatus": "READY",
            "amount": self.total_amount,
        }

    def to_ledger(self) -> dict[str, Any]:
        return {
            "paymentKey": self.payment_key,
            "orderId": self.order_id,
            "orderName": self.order_name,
            "totalAmount": self.total_amount,
            "balanceAmount": self.balance_amount,
            "status": str(self.status),
            "history": [{"status": str(h.status), "at": lab_time(h.at)} for h in self.history],
            "capturedAmount": self.captured_amount,
            "refundedAmount": self.refunded_amount,
            "captures": [
                {
                    "amount": c.amount,
                    "at": lab_time(c.at),
                    "requestId": c.request_id,
                    "idempotencyKey": c.idempotency_key,
                }
                for c in self.captures
            ],
            "refunds": [
                {
                    "amount": c.amount,
                    "reason": c.reason,
                    "at": lab_time(c.at),
                    "requestId": c.request_id,
                    "idempotencyKey": c.idempotency_key,
                }
                for c in self.cancels
            ],
            "requestIds": list(self.request_ids),
        }

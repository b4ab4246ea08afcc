"""What the checkers read: typed snapshots of the final state, taken after the run quiesced.

The runner fills these from the primary database, the provider's ledger and the consumer's
event table; checkers never do I/O. Field names follow the tables in
``service/migrations`` so the mapping is one line per column.

Times are float seconds since the Unix epoch (as in :mod:`scenarios.history`); the runner
converts the service's UTC ``DATETIME(6)`` columns. Read every database table in one
consistent-snapshot transaction (``START TRANSACTION WITH CONSISTENT SNAPSHOT``) and set
``checked_at`` from the database clock in that transaction, so "is this hold past its TTL"
is asked against the same clock the service used.

A snapshot field left ``None`` means "not captured": checks that need it answer unknown
rather than pass over an empty table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scenarios.checks.load_plan import LoadSpan
from scenarios.history import History

# ---- the booking tables (service database) -------------------------------------------


@dataclass(frozen=True)
class SeatRow:
    id: int
    concert_id: int
    status: str  # AVAILABLE | HELD | RESERVED | SOLD
    hold_id: int | None = None


@dataclass(frozen=True)
class HoldRow:
    id: int
    concert_id: int
    member_id: int
    status: str  # ACTIVE | CONVERTED | RELEASED
    amount: int
    created_at: float
    expires_at: float
    released_at: float | None = None
    released_by: str | None = None  # consumer | sweeper | member | conversion
    claimed_at: float | None = None  # when the seats were really taken (after lock waits)


@dataclass(frozen=True)
class HoldSeatRow:
    """A seat claimed by a hold. ``released_at`` is set when the seat goes back on sale."""

    id: int
    hold_id: int
    seat_id: int
    concert_id: int = 0
    price: int = 0
    released_at: float | None = None


@dataclass(frozen=True)
class ReservationRow:
    id: int
    hold_id: int
    member_id: int
    concert_id: int
    order_id: str
    amount: int
    status: str  # AWAITING_PAYMENT | CONFIRMED | EXPIRED | CANCELED
    created_at: float
    expires_at: float
    confirmed_at: float | None = None
    released_at: float | None = None


@dataclass(frozen=True)
class OutboxEvent:
    """A row of the service's outbox: a domain event and when the relay published it."""

    id: str
    type: str = ""
    published_at: float | None = None


@dataclass(frozen=True)
class AppliedWebhook:
    """The service processed a provider webhook event (a duplicate that was only
    acknowledged is not an application). Either one row per application, or one row with
    a count — the checker sums ``times_applied`` per event id."""

    event_id: str
    times_applied: int = 1
    payment_key: str | None = None


@dataclass(frozen=True)
class DbState:
    """The primary's tables at ``checked_at``."""

    checked_at: float
    seats: tuple[SeatRow, ...] = ()
    holds: tuple[HoldRow, ...] = ()
    hold_seats: tuple[HoldSeatRow, ...] = ()
    reservations: tuple[ReservationRow, ...] = ()
    outbox: tuple[OutboxEvent, ...] | None = None
    applied_webhooks: tuple[AppliedWebhook, ...] | None = None


# ---- the payment provider's ledger ------------------------------------------------------


@dataclass(frozen=True)
class LedgerPayment:
    """A payment as the provider sees it. ``captured`` is the amount approved (0 if never),
    ``refunded`` the sum of its cancels."""

    payment_key: str
    order_id: str
    status: str  # READY | IN_PROGRESS | DONE | CANCELED | PARTIAL_CANCELED | ABORTED | EXPIRED
    total_amount: int
    captured: int = 0
    refunded: int = 0

    @property
    def net(self) -> int:
        return self.captured - self.refunded


@dataclass(frozen=True)
class WebhookDelivery:
    """One delivery attempt of one webhook event; ``response_code`` None = no answer."""

    event_id: str
    attempt: int = 1
    response_code: int | None = None
    payment_key: str | None = None
    delivered_at: float | None = None

    @property
    def acknowledged(self) -> bool:
        return self.response_code is not None and 200 <= self.response_code < 300


@dataclass(frozen=True)
class Ledger:
    """The provider's ledger. ``pending_deliveries`` counts webhook chains still retrying:
    while any are, the webhook check cannot be sure an event will not yet be applied."""

    payments: tuple[LedgerPayment, ...] = ()
    deliveries: tuple[WebhookDelivery, ...] = ()
    pending_deliveries: int = 0

    @classmethod
    def from_psp(cls, data: Mapping[str, Any]) -> Ledger:
        """Parse the JSON of the payment provider's ``GET /_lab/ledger`` (``providers/psp``)."""
        return cls(
            payments=tuple(
                LedgerPayment(
                    payment_key=p["paymentKey"],
                    order_id=p["orderId"],
                    status=p["status"],
                    total_amount=int(p["totalAmount"]),
                    captured=int(p.get("capturedAmount") or 0),
                    refunded=int(p.get("refundedAmount") or 0),
                )
                for p in data.get("payments") or ()
            ),
            deliveries=tuple(
                WebhookDelivery(
                    event_id=d["eventId"],
                    attempt=int(d.get("attempt") or 1),
                    response_code=d.get("responseStatus"),
                    payment_key=d.get("paymentKey"),
                    delivered_at=_epoch(d.get("at")),
                )
                for d in data.get("webhooks") or ()
            ),
            pending_deliveries=int(data.get("pendingDeliveries") or 0),
        )


# ---- the consumer's table ---------------------------------------------------------------


@dataclass(frozen=True)
class ReceivedEvent:
    """One event the consumer applied. ``deliveries`` counts how often the broker handed it
    over (at-least-once delivery; the consumer dedupes by event id), so a redelivery is
    visible without being a second application."""

    event_id: str
    type: str = ""
    received_at: float | None = None
    deliveries: int = 1


@dataclass(frozen=True)
class ReceivedEvents:
    rows: tuple[ReceivedEvent, ...] = ()


# ---- what the quiesce step reports --------------------------------------------------------

#: Names the quiesce step uses for what it waited on.
OUTBOX = "outbox"  # every outbox row published by the relay
CONSUMER = "consumer"  # the consumer has caught up with the queue
WEBHOOKS = "webhooks"  # the provider has no webhook delivery or retry pending
PAYMENTS = "payments"  # no payment IN_PROGRESS or unknown at the service or the provider
EXPIRIES = "expiries"  # every hold/reservation expiry (plus grace) is in the past


@dataclass(frozen=True)
class Settlement:
    """What did not settle before the quiesce bound, with a reason for each.

    An empty mapping means everything settled. Each checker looks only at the names it
    depends on.
    """

    unsettled: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def settled(cls) -> Settlement:
        return cls()

    def among(self, *names: str) -> dict[str, str]:
        """The unsettled things among ``names``, with their reasons."""
        return {n: r for n, r in self.unsettled.items() if n in names}


@dataclass(frozen=True)
class MeasuredWindow:
    """The part of the run that SLOs measure: after warm-up, up to the end of load."""

    warmup_end: float | None = None
    end: float | None = None


@dataclass(frozen=True)
class Evidence:
    """Everything a variant's checks may read, gathered once by the runner."""

    history: History = field(default_factory=History)
    db: DbState | None = None
    ledger: Ledger | None = None
    events: ReceivedEvents | None = None
    settlement: Settlement = field(default_factory=Settlement)
    window: MeasuredWindow = field(default_factory=MeasuredWindow)
    # Per-process resource samples (rows of workers.csv, profiling/workers.py); None when
    # the sampler did not run.
    workers: tuple[Mapping[str, Any], ...] | None = None
    # How long Locust ran against the shape's plan; None when the runner did not record it.
    load: LoadSpan | None = None


def _epoch(iso: str | None) -> float | None:
    """ISO-8601 with an offset (the provider's ``lab_time``) → epoch seconds."""
    return None if iso is None else datetime.fromisoformat(iso).timestamp()

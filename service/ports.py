"""Ports: what the use cases need from the outside world, as small abstract classes.

Adapters implement them (``service/adapters``); unit tests subclass them with fakes that
keep real state (``tests/unit/service/fakes.py``). Nothing here imports an I/O library.

The unit of work is the one way a use case reaches the database. ``async with
deps.uow(isolation) as uow`` opens a transaction, ``await uow.commit()`` commits it, and
leaving the block without a commit rolls everything back, whether by an error or an early
return. Its stores (``holds``, ``reservations``, ``payments``, ``webhooks``, ``outbox``)
work inside that one transaction, so a use case composes them into one atomic step and
decides itself when it is done. The isolation level is the use case's to choose: most
take the database's default, and the settling of a payment (which must see what the
previous lock holder committed) and the sweeper's claims take READ COMMITTED.

What the reads need (the catalogue, availability, the replica's lag) is in
``service/read_ports.py``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from service.domain.holds import FreedSeats, Hold, ReleasedBy
from service.domain.payments import (
    Outcome,
    PaymentRecord,
    ProviderPayment,
    RefundReason,
    Settlement,
)
from service.domain.reservations import Reservation, ReservationStatus

# -- the database, as one unit of work --------------------------------------------------------


class Isolation(enum.StrEnum):
    READ_COMMITTED = "READ COMMITTED"
    REPEATABLE_READ = "REPEATABLE READ"  # MariaDB's default


class Holds(ABC):
    """Holds and their seats. Lock order, for every store: hold, reservation, payment, seats."""

    @abstractmethod
    async def get(
        self, hold_id: int, member_id: int | None = None, *, for_update: bool = False
    ) -> Hold | None:
        """The hold with its seats; another member's hold is None."""

    @abstractmethod
    async def release_by_member(self, hold_id: int, member_id: int, now: datetime) -> Hold:
        """Release the member's ACTIVE hold; NotFound or InvalidState otherwise."""

    @abstractmethod
    async def release_expired(
        self, hold_id: int, by: ReleasedBy, now: datetime
    ) -> FreedSeats | None:
        """Release the hold, or the unpaid reservation it became, if due by ``now``."""

    @abstractmethod
    async def claim_expired(self, cutoff: datetime, limit: int) -> list[int]:
        """Lock up to ``limit`` holds due by ``cutoff`` that nobody else has locked."""

    @abstractmethod
    async def convert(self, hold_id: int, member_id: int, now: datetime) -> Reservation:
        """The member's ACTIVE, unexpired hold becomes a reservation awaiting payment."""

    @abstractmethod
    async def seat_count(self, hold_id: int) -> int: ...


class Reservations(ABC):
    @abstractmethod
    async def get(self, reservation_id: int, member_id: int | None = None) -> Reservation | None:
        """Another member's reservation is None."""

    @abstractmethod
    async def of_member(self, member_id: int) -> list[Reservation]:
        """Newest first."""

    @abstractmethod
    async def by_order(self, order_id: str, member_id: int | None = None) -> Reservation | None: ...

    @abstractmethod
    async def lock_by_order(self, order_id: str) -> Reservation | None:
        """Hold, then reservation, locked; the reservation as it is under the lock."""

    @abstractmethod
    async def confirm(
        self, reservation: Reservation, now: datetime, *, all_or_nothing: bool = True
    ) -> bool:
        """CONFIRMED with every seat of its hold SOLD; False (nothing written) if it cannot
        have them all. ``all_or_nothing=False`` is the ``confirm-overwrites`` defect."""

    @abstractmethod
    async def overwrite_status(self, reservation_id: int, status: ReservationStatus) -> None:
        """The ``confirm-overwrites`` defect's blind write."""


class Payments(ABC):
    @abstractmethod
    async def get(self, payment_key: str, *, lock: bool = False) -> PaymentRecord | None: ...

    @abstractmethod
    async def add(
        self,
        *,
        payment_key: str,
        reservation: Reservation,
        amount: int,
        now: datetime,
        next_check_at: datetime,
    ) -> None:
        """A READY row for the payment unless one exists."""

    @abstractmethod
    async def paid_by_other(self, order_id: str, payment_key: str) -> bool:
        """Another payment confirmed the order."""

    @abstractmethod
    async def store_settlement(
        self,
        payment_key: str,
        settlement: Settlement,
        observed: ProviderPayment,
        *,
        source: str,
        now: datetime,
        next_check_at: datetime,
    ) -> None:
        """Write what ``settle`` decided; a stale verdict changes nothing."""

    @abstractmethod
    async def mark_outcome(
        self, payment_key: str, outcome: Outcome, *, settled: bool, failure_code: str | None
    ) -> int:
        """Record a refusal's outcome on a payment that has none yet (or a pending one)."""

    @abstractmethod
    async def forget(self, payment_key: str, order_id: str) -> int:
        """Drop an untouched row that tied the key to an order the provider did not."""

    @abstractmethod
    async def rebind(self, payment_key: str, reservation: Reservation) -> int:
        """Follow the provider's order for the key, unless the payment confirmed one."""

    @abstractmethod
    async def overwrite(
        self, payment_key: str, observed: ProviderPayment, *, source: str, now: datetime
    ) -> None:
        """The ``confirm-overwrites`` defect's blind write."""

    @abstractmethod
    async def claim_unsettled(self, now: datetime, limit: int, lease_s: float) -> list[str]:
        """Up to ``limit`` unsettled payments due for a check, leased to the caller."""


class WebhookEvents(ABC):
    @abstractmethod
    async def record_received(
        self,
        *,
        event_id: str,
        event_type: str,
        payment_key: str | None,
        order_id: str | None,
        reported_status: str | None,
        now: datetime,
    ) -> int:
        """Store the event id (or count a redelivery); how often it was applied so far."""

    @abstractmethod
    async def lock(self, event_id: str) -> int:
        """Lock the event's row; how often it was applied so far (0 if unknown)."""

    @abstractmethod
    async def mark_applied(self, event_id: str, applied_status: str, now: datetime) -> None: ...


class Outbox(ABC):
    @abstractmethod
    async def record(
        self,
        event_type: str,
        aggregate_id: str,
        payload: Mapping[str, Any],
        correlation_id: str | None = None,
    ) -> str:
        """Write one domain event with the transaction's changes; its id."""


class UnitOfWork(ABC):
    """One transaction; rolled back on the way out unless ``commit`` was called."""

    holds: Holds
    reservations: Reservations
    payments: Payments
    webhooks: WebhookEvents
    outbox: Outbox

    @abstractmethod
    async def __aenter__(self) -> Self: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...

    @abstractmethod
    async def commit(self) -> None: ...


class UnitsOfWork(Protocol):
    """Opens units of work: ``deps.uow()``, or ``deps.uow(Isolation.READ_COMMITTED)``."""

    def __call__(self, isolation: Isolation | None = None) -> UnitOfWork: ...


# -- claims and expiry ------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimRequest:
    concert_id: int
    member_id: int
    seat_ids: tuple[int, ...]  # sorted and unique (normalize_seat_request)
    now: datetime
    expires_at: datetime


class SeatClaimer(ABC):
    """Turns a request into a committed ACTIVE hold, or raises SeatsTaken / Contention.

    One adapter per claim strategy; each decides how two buyers of one seat are kept apart
    (or, for ``naive``, fails to).
    """

    name: str

    @abstractmethod
    async def claim(self, request: ClaimRequest) -> Hold: ...

    async def released(self, freed: FreedSeats) -> None:  # noqa: B027 (optional hook)
        """After a release commits: undo whatever the strategy keeps about these seats
        outside the database (redis-gate's keys). Nothing, for the others."""


class HoldExpiryScheduler(ABC):
    """Arranges for a hold to be released when it expires, if it is still unpaid."""

    @abstractmethod
    async def schedule(self, hold_id: int, expires_at: datetime) -> None: ...


# -- the payment provider ---------------------------------------------------------------------


@dataclass(frozen=True)
class Refused:
    """The provider answered with a Toss error: ``{code, message}`` and an HTTP status."""

    http_status: int
    code: str
    message: str


@dataclass(frozen=True)
class Unreachable:
    """No usable answer. ``maybe_processed`` is False only when the request surely never
    arrived (the connection could not be made); a timeout or a 5xx may hide a capture."""

    reason: str
    maybe_processed: bool


# Typed results instead of exceptions, so "certainly failed" and "unknown" stay apart.
Result = ProviderPayment | Refused | Unreachable


class PaymentGateway(ABC):
    """The payment provider: confirm, query and cancel (Toss's v1 API)."""

    @abstractmethod
    async def confirm(
        self, payment_key: str, order_id: str, amount: int, idempotency_key: str
    ) -> Result: ...

    @abstractmethod
    async def get_payment(self, payment_key: str) -> Result: ...

    @abstractmethod
    async def cancel(self, payment_key: str, reason: str, idempotency_key: str) -> Result: ...


# -- time and counting ------------------------------------------------------------------------


class Clock(ABC):
    @abstractmethod
    def now(self) -> datetime: ...


class Metrics(ABC):
    """What the use cases count, for /metrics and the lab's reports."""

    @abstractmethod
    def hold_granted(self, strategy: str) -> None: ...

    @abstractmethod
    def hold_refused(self, strategy: str, reason: str) -> None: ...

    @abstractmethod
    def holds_released(self, by: ReleasedBy, n: int = 1) -> None: ...

    @abstractmethod
    def payment_settled(self, outcome: str, source: str) -> None: ...

    @abstractmethod
    def refunded(self, reason: RefundReason) -> None: ...

    @abstractmethod
    def webhook_duplicate(self, applied: bool) -> None: ...

    @abstractmethod
    def reconciler_checked(self, result: str) -> None: ...

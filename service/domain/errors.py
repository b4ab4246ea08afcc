"""Domain errors. The HTTP layer maps each to one problem type; nothing here knows HTTP."""

from __future__ import annotations

from collections.abc import Iterable


class DomainError(Exception):
    """Base of every error a use case may raise on purpose."""

    code = "domain-error"


class InvalidRequest(DomainError):
    """The request is well-formed JSON but breaks a booking rule (e.g. a duplicate seat id)."""

    code = "invalid-request"

    def __init__(self, detail: str, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.field_errors = field_errors or {}


class MalformedInput(InvalidRequest):
    """The input could not even be read (not JSON, not an object): a 400, not a 422."""

    code = "malformed-json"


class NotFound(DomainError):
    code = "not-found"

    def __init__(self, kind: str, ident: object) -> None:
        super().__init__(f"{kind} {ident} not found")
        self.kind = kind
        self.ident = ident


class SeatsTaken(DomainError):
    """Some requested seats are held or sold by someone else. Retrying won't help."""

    code = "seats-taken"

    def __init__(self, seat_ids: Iterable[int]) -> None:
        self.seat_ids = sorted(set(seat_ids))
        super().__init__("seats already taken: " + ", ".join(map(str, self.seat_ids)))


class TicketLimitExceeded(DomainError):
    code = "ticket-limit"

    def __init__(self, limit: int, already: int, requested: int) -> None:
        super().__init__(
            f"the limit is {limit} seats per member for this concert; "
            f"you already have {already} and asked for {requested}"
        )
        self.limit = limit
        self.already = already
        self.requested = requested


class InvalidState(DomainError):
    """The aggregate's state forbids the operation (e.g. reserving a released hold)."""

    code = "invalid-state"


class Contention(DomainError):
    """The system is too busy to decide now (lock wait, deadlock, pool exhausted); retryable."""

    code = "contention"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthorized(DomainError):
    code = "unauthorized"

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


class InvalidQuery(InvalidRequest):
    """A query parameter the endpoint cannot use (missing, repeated, too long): a 400."""


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
    """The system cannot decide now (lock wait, deadlock, pool exhausted, a lost connection to
    the database or Redis); nothing may be assumed done, and trying again is safe."""

    code = "contention"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unauthorized(DomainError):
    code = "unauthorized"


class SignInFailed(DomainError):
    """The sign-in cannot complete (unknown state, refused or replayed code): start over."""

    code = "sign-in-failed"


class NotThisBrowser(DomainError):
    """The callback came from a browser that did not start this sign-in (or lost its cookie):
    a stolen callback URL must not sign its holder in."""

    code = "sign-in-not-from-this-browser"

    def __init__(self) -> None:
        super().__init__(
            "this sign-in was not started in this browser, or its sign-in cookie expired: "
            "start the sign-in again here"
        )


class ProviderUnavailable(DomainError):
    """An outside provider (``payment``, ``identity``) cannot be used right now, and nothing
    was done through it: try again later.

    ``answered`` tells a provider that answered something unusable from one that could not
    be reached; either way it is not the client's fault. The detail is for the client, so it
    names the trouble, never an address or an exception's text (those go to the log).
    """

    def __init__(self, detail: str, *, provider: str, answered: bool = False) -> None:
        super().__init__(detail)
        self.provider = provider
        self.answered = answered
        self.code = f"{provider}-provider-unavailable"

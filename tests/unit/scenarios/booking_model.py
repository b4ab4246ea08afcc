"""A small model of the booking system that writes what the checkers read, with known truth.

A world is built hold by hold along a timeline: each hold takes free seats at its start
and meets one fate (still active, released by its member, expired, or converted into a
reservation that waits, is paid, expires or is canceled). Payments, webhooks, outbox
events and the consumer's table follow from those fates, all as a correct service would
leave them, so every invariant holds. ``plant`` then breaks the world in one named way;
each way says which check must fail and the problem its counterexample must name.

Holds start :data:`GAP_S` apart and end within :data:`TTL_S` + :data:`GRACE_S` of their
start, so a seat freed by one hold is free long before the next (more than the seat
checks' slack) — unless a planted violation says otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from hypothesis import strategies as st

from scenarios.checks.catalog import invariants
from scenarios.checks.result import CheckReport
from scenarios.checks.run import run_checks
from scenarios.checks.snapshot import (
    AppliedWebhook,
    DbState,
    Evidence,
    HoldRow,
    HoldSeatRow,
    Ledger,
    LedgerPayment,
    OutboxEvent,
    ReceivedEvent,
    ReceivedEvents,
    ReservationRow,
    SeatRow,
    Settlement,
    WebhookDelivery,
)

GAP_S = 100.0
TTL_S = 60.0
GRACE_S = 5.0
FAR = 1e9  # the expiry of what is still live at the check
PRICE = 100

FATES = (
    "active",
    "member-released",
    "expired-consumer",
    "expired-sweeper",
    "awaiting",
    "confirmed",
    "reservation-expired",
    "reservation-canceled",
)


@dataclass(frozen=True)
class HoldPlan:
    """One hold as drawn: which free seats (by position among them) and its fate."""

    picks: tuple[int, ...]
    fate: str
    after_s: float  # when within its life the fate happened (member release, conversion)
    late_s: float  # how late within grace an expiry was
    webhook_codes: tuple[int | None, ...]  # delivery attempts of its payment's webhook
    redelivered: bool  # the broker handed its hold.created event over twice


@dataclass
class World:
    """What the checkers read about one concert (id 1), mutable so a plant can break it."""

    seats: dict[int, SeatRow]
    capacity_seats: int = 0  # seat rows the venue was seeded with
    holds: list[HoldRow] = field(default_factory=list)
    hold_seats: list[HoldSeatRow] = field(default_factory=list)
    reservations: list[ReservationRow] = field(default_factory=list)
    payments: list[LedgerPayment] = field(default_factory=list)
    deliveries: list[WebhookDelivery] = field(default_factory=list)
    applied: list[AppliedWebhook] = field(default_factory=list)
    outbox: list[OutboxEvent] = field(default_factory=list)
    received: list[ReceivedEvent] = field(default_factory=list)
    checked_at: float = 0.0
    pending_deliveries: int = 0
    settlement: Settlement = field(default_factory=Settlement)

    @property
    def capacity(self) -> dict[int, int]:
        return {1: self.capacity_seats}

    def evidence(self) -> Evidence:
        db = DbState(
            checked_at=self.checked_at,
            seats=tuple(sorted(self.seats.values(), key=lambda s: s.id)),
            holds=tuple(self.holds),
            hold_seats=tuple(self.hold_seats),
            reservations=tuple(self.reservations),
            outbox=tuple(self.outbox),
            applied_webhooks=tuple(self.applied),
        )
        ledger = Ledger(tuple(self.payments), tuple(self.deliveries), self.pending_deliveries)
        return Evidence(
            db=db,
            ledger=ledger,
            events=ReceivedEvents(tuple(self.received)),
            settlement=self.settlement,
        )

    def check(self) -> CheckReport:
        return run_checks(invariants(GRACE_S, self.capacity), self.evidence())

    def hold(self, hold_id: int) -> HoldRow:
        return next(h for h in self.holds if h.id == hold_id)

    def reservation_of(self, hold_id: int) -> ReservationRow | None:
        return next((r for r in self.reservations if r.hold_id == hold_id), None)


def build(seat_count: int, plans: list[HoldPlan]) -> World:
    """The world a correct service leaves after these holds, checked after the last."""
    world = World(
        seats={i: SeatRow(i, 1, "AVAILABLE") for i in range(1, seat_count + 1)},
        capacity_seats=seat_count,
    )
    taken: set[int] = set()  # seats under a live claim
    for index, plan in enumerate(plans):
        free = sorted(set(world.seats) - taken)
        picked = sorted({free[p % len(free)] for p in plan.picks}) if free else []
        if picked:
            taken |= _add_hold(world, index + 1, GAP_S * (index + 1), picked, plan)
    world.checked_at = GAP_S * (len(plans) + 1)
    return world


def _add_hold(
    world: World, hold_id: int, start: float, seats: list[int], plan: HoldPlan
) -> set[int]:
    """Add one hold with its fate; return the seats it still holds at the check."""
    amount = PRICE * len(seats)
    expires = start + TTL_S
    fate = plan.fate
    status, released_at, released_by = "ACTIVE", None, None
    seats_released_at: float | None = None
    seat_status: str | None = None
    if fate == "active":
        expires, seat_status = FAR, "HELD"
    elif fate == "member-released":
        status, released_by = "RELEASED", "member"
        released_at = seats_released_at = start + plan.after_s
    elif fate in ("expired-consumer", "expired-sweeper"):
        status, released_by = "RELEASED", fate.removeprefix("expired-")
        released_at = seats_released_at = expires + plan.late_s
    else:
        status, released_at, released_by = "CONVERTED", start + plan.after_s, "conversion"
    if fate == "awaiting":
        expires = FAR
    world.holds.append(
        HoldRow(hold_id, 1, hold_id, status, amount, start, expires, released_at, released_by)
    )
    world.outbox.append(OutboxEvent(f"evt-hold-{hold_id}", "hold.created", start + 1))
    world.received.append(
        ReceivedEvent(
            f"evt-hold-{hold_id}", "hold.created", start + 2, 2 if plan.redelivered else 1
        )
    )

    if status == "CONVERTED":
        seat_status, seats_released_at = _add_reservation(world, hold_id, start, expires, plan)
    for seat_id in seats:
        world.hold_seats.append(
            HoldSeatRow(len(world.hold_seats) + 1, hold_id, seat_id, 1, PRICE, seats_released_at)
        )
        if seat_status is not None:
            world.seats[seat_id] = SeatRow(seat_id, 1, seat_status, hold_id)
    return set(seats) if seat_status is not None else set()


def _add_reservation(
    world: World, hold_id: int, start: float, expires: float, plan: HoldPlan
) -> tuple[str | None, float | None]:
    """The reservation, its payment and webhook; the seats' status and release time."""
    fate = plan.fate
    hold = world.hold(hold_id)
    created = start + plan.after_s
    status = {
        "awaiting": "AWAITING_PAYMENT",
        "confirmed": "CONFIRMED",
        "reservation-expired": "EXPIRED",
        "reservation-canceled": "CANCELED",
    }[fate]
    released_at = {
        "reservation-expired": expires + plan.late_s,
        "reservation-canceled": created + 1,
    }.get(fate)
    order_id = f"ord_{hold_id}"
    world.reservations.append(
        ReservationRow(
            500 + hold_id,
            hold_id,
            hold.member_id,
            1,
            order_id,
            hold.amount,
            status,
            created,
            expires,
            created + 1 if status == "CONFIRMED" else None,
            released_at,
        )
    )
    if status == "CONFIRMED":
        _pay(world, hold_id, order_id, hold.amount, refunded=0, status="DONE", plan=plan)
        return "SOLD", None
    if status == "EXPIRED":  # a late capture, refunded in full
        _pay(
            world,
            hold_id,
            order_id,
            hold.amount,
            refunded=hold.amount,
            status="CANCELED",
            plan=plan,
        )
    if status == "AWAITING_PAYMENT":
        return "RESERVED", None
    return None, released_at


def _pay(
    world: World,
    hold_id: int,
    order_id: str,
    amount: int,
    *,
    refunded: int,
    status: str,
    plan: HoldPlan,
) -> None:
    key = f"pay_{hold_id}"
    world.payments.append(LedgerPayment(key, order_id, status, amount, amount, refunded))
    event_id = f"wh_{hold_id}"
    for attempt, code in enumerate(plan.webhook_codes, start=1):
        world.deliveries.append(WebhookDelivery(event_id, attempt, code, key))
    if any(code is not None and 200 <= code < 300 for code in plan.webhook_codes):
        world.applied.append(AppliedWebhook(event_id, 1, key))


hold_plans = st.builds(
    HoldPlan,
    picks=st.lists(st.integers(0, 7), min_size=1, max_size=3).map(tuple),
    fate=st.sampled_from(FATES),
    after_s=st.floats(20.0, 50.0),
    late_s=st.floats(0.0, GRACE_S),
    webhook_codes=st.lists(st.sampled_from([200, 500, None]), min_size=1, max_size=3).map(tuple),
    redelivered=st.booleans(),
)


@st.composite
def worlds(draw: st.DrawFn, max_holds: int = 8) -> World:
    seats = draw(st.integers(1, 6))
    plans = draw(st.lists(hold_plans, min_size=0, max_size=max_holds))
    return build(seats, plans)


# ---- planted violations ---------------------------------------------------------------


@dataclass(frozen=True)
class Planted:
    """What a planted violation must make a check say: its name and the problem text."""

    check: str
    problem: str
    where: dict[str, object] = field(default_factory=dict)  # fields the counterexample has


Plant = Callable[[World, st.DrawFn], Planted | None]


def _pick(draw: st.DrawFn, items: list) -> object:
    return items[draw(st.integers(0, len(items) - 1))]


def _holds_with(world: World, *fates: str) -> list[HoldRow]:
    out = []
    for h in world.holds:
        res = world.reservation_of(h.id)
        fate = {
            ("ACTIVE", None): "active",
            ("RELEASED", "member"): "member-released",
            ("RELEASED", "consumer"): "expired",
            ("RELEASED", "sweeper"): "expired",
        }.get((h.status, h.released_by))
        if res is not None:
            fate = res.status
        if fate in fates:
            out.append(h)
    return out


def plant_double_hold(world: World, draw: st.DrawFn) -> Planted | None:
    """A second hold takes a seat while the first still has it."""
    if not world.holds:
        return None
    first = _pick(draw, world.holds)
    seat = next(hs.seat_id for hs in world.hold_seats if hs.hold_id == first.id)
    new_id = max(h.id for h in world.holds) + 1
    world.holds.append(HoldRow(new_id, 1, new_id, "ACTIVE", PRICE, first.created_at + 1, FAR))
    world.hold_seats.append(HoldSeatRow(len(world.hold_seats) + 1, new_id, seat, 1, PRICE))
    return Planted("no-double-booking", "held twice", {"seat_id": seat})


def plant_double_sale(world: World, draw: st.DrawFn) -> Planted | None:
    """Two confirmed reservations, each paid, cover one seat."""
    sold = _holds_with(world, "CONFIRMED")
    if not sold:
        return None
    first = _pick(draw, sold)
    seat = next(hs.seat_id for hs in world.hold_seats if hs.hold_id == first.id)
    new_id = max(h.id for h in world.holds) + 1
    start = first.created_at + 1
    world.holds.append(
        HoldRow(new_id, 1, new_id, "CONVERTED", PRICE, start, FAR, start + 1, "conversion")
    )
    world.hold_seats.append(HoldSeatRow(len(world.hold_seats) + 1, new_id, seat, 1, PRICE))
    order = f"ord_{new_id}"
    world.reservations.append(
        ReservationRow(500 + new_id, new_id, new_id, 1, order, PRICE, "CONFIRMED", start, FAR)
    )
    world.payments.append(LedgerPayment(f"pay_{new_id}", order, "DONE", PRICE, PRICE))
    return Planted("no-double-booking", "sold twice", {"seat_id": seat})


def plant_wrong_seat_status(world: World, draw: st.DrawFn) -> Planted | None:
    """A seat's status disagrees with its claims."""
    seat = _pick(draw, sorted(world.seats))
    old = world.seats[seat]
    wrong = "SOLD" if old.status != "SOLD" else "AVAILABLE"
    world.seats[seat] = replace(old, status=wrong)
    return Planted("seat-counts-conserved", "", {"seat_id": seat})


def plant_missing_seat_row(world: World, draw: st.DrawFn) -> Planted | None:
    """A seat row vanished."""
    seat = _pick(draw, sorted(world.seats))
    del world.seats[seat]
    return Planted("seat-counts-conserved", "seat rows differ from capacity")


def plant_unreleased_seats(world: World, draw: st.DrawFn) -> Planted | None:
    """A hold or reservation ended, but its seats were never put back on sale."""
    ended = _holds_with(world, "member-released", "EXPIRED", "CANCELED")
    if not ended:
        return None
    hold = _pick(draw, ended)
    world.hold_seats = [
        replace(hs, released_at=None) if hs.hold_id == hold.id else hs for hs in world.hold_seats
    ]
    return Planted(
        "seat-counts-conserved",
        "hold seat left unreleased after its hold or reservation ended",
        {"hold_id": hold.id},
    )


def plant_hold_past_ttl(world: World, draw: st.DrawFn) -> Planted | None:
    """An active hold whose expiry passed long ago."""
    active = _holds_with(world, "active")
    if not active:
        return None
    hold = _pick(draw, active)
    world.holds = [
        replace(h, expires_at=h.created_at + TTL_S) if h.id == hold.id else h for h in world.holds
    ]
    return Planted("no-hold-past-ttl", "hold alive past TTL", {"hold_id": hold.id})


def plant_late_expiry(world: World, draw: st.DrawFn) -> Planted | None:
    """An expiry freed a hold (and its seats) later than expiry + grace."""
    expired = _holds_with(world, "expired")
    if not expired:
        return None
    hold = _pick(draw, expired)
    late = hold.expires_at + GRACE_S + draw(st.floats(0.5, 20.0))
    world.holds = [replace(h, released_at=late) if h.id == hold.id else h for h in world.holds]
    world.hold_seats = [
        replace(hs, released_at=late) if hs.hold_id == hold.id else hs for hs in world.hold_seats
    ]
    return Planted("no-hold-past-ttl", "hold released late", {"hold_id": hold.id})


def plant_late_reservation(world: World, draw: st.DrawFn) -> Planted | None:
    """An unpaid reservation expired later than expiry + grace."""
    expired = _holds_with(world, "EXPIRED")
    if not expired:
        return None
    hold = _pick(draw, expired)
    late = hold.expires_at + GRACE_S + draw(st.floats(0.5, 20.0))
    world.reservations = [
        replace(r, released_at=late) if r.hold_id == hold.id else r for r in world.reservations
    ]
    world.hold_seats = [
        replace(hs, released_at=late) if hs.hold_id == hold.id else hs for hs in world.hold_seats
    ]
    return Planted("no-hold-past-ttl", "reservation released late", {"hold_id": hold.id})


def plant_unpaid_reservation_past_ttl(world: World, draw: st.DrawFn) -> Planted | None:
    """A reservation still awaits payment long after its expiry."""
    awaiting = _holds_with(world, "AWAITING_PAYMENT")
    if not awaiting:
        return None
    hold = _pick(draw, awaiting)
    expiry = hold.created_at + TTL_S
    world.reservations = [
        replace(r, expires_at=expiry) if r.hold_id == hold.id else r for r in world.reservations
    ]
    return Planted("no-hold-past-ttl", "unpaid reservation alive past TTL", {"hold_id": hold.id})


def plant_unrefunded_capture(world: World, draw: st.DrawFn) -> Planted | None:
    """A capture for a reservation that was not confirmed, never refunded."""
    unpaid = _holds_with(world, "EXPIRED", "CANCELED", "AWAITING_PAYMENT")
    if not unpaid:
        return None
    hold = _pick(draw, unpaid)
    res = world.reservation_of(hold.id)
    assert res is not None
    key = f"pay_late_{hold.id}"
    world.payments.append(LedgerPayment(key, res.order_id, "DONE", res.amount, res.amount))
    return Planted("money-conserved", f"captured for a {res.status} reservation, not refunded")


def plant_second_capture(world: World, draw: st.DrawFn) -> Planted | None:
    """A confirmed reservation paid twice, neither refunded."""
    sold = _holds_with(world, "CONFIRMED")
    if not sold:
        return None
    res = world.reservation_of(_pick(draw, sold).id)
    assert res is not None
    world.payments.append(
        LedgerPayment(f"pay_twice_{res.id}", res.order_id, "DONE", res.amount, res.amount)
    )
    return Planted("money-conserved", "one of several unrefunded captures for one reservation")


def plant_confirmed_unpaid(world: World, draw: st.DrawFn) -> Planted | None:
    """A confirmed reservation whose payment the provider refunded."""
    sold = _holds_with(world, "CONFIRMED")
    if not sold:
        return None
    res = world.reservation_of(_pick(draw, sold).id)
    assert res is not None
    world.payments = [
        replace(p, refunded=p.captured, status="CANCELED") if p.order_id == res.order_id else p
        for p in world.payments
    ]
    return Planted(
        "money-conserved", "confirmed without a captured payment", {"reservation_id": res.id}
    )


def plant_refund_of_nothing(world: World, draw: st.DrawFn) -> Planted | None:
    """A refund of a payment that was never captured."""
    key = f"pay_never_{draw(st.integers(1, 99))}"
    world.payments.append(LedgerPayment(key, "ord_nowhere", "CANCELED", PRICE, 0, PRICE))
    return Planted("money-conserved", "refunded a payment never captured", {"payment_key": key})


def plant_webhook_applied_twice(world: World, draw: st.DrawFn) -> Planted | None:
    if not world.applied:
        return None
    twice = _pick(draw, world.applied)
    world.applied.append(twice)
    return Planted("webhooks-applied-once", "applied 2 times", {"event_id": twice.event_id})


def plant_webhook_never_applied(world: World, draw: st.DrawFn) -> Planted | None:
    if not world.applied:
        return None
    lost = _pick(draw, world.applied)
    world.applied.remove(lost)
    return Planted(
        "webhooks-applied-once", "acknowledged but never applied", {"event_id": lost.event_id}
    )


def plant_webhook_never_sent(world: World, draw: st.DrawFn) -> Planted | None:
    event_id = f"wh_forged_{draw(st.integers(1, 99))}"
    world.applied.append(AppliedWebhook(event_id))
    return Planted(
        "webhooks-applied-once", "applied but never sent by the provider", {"event_id": event_id}
    )


def plant_event_received_twice(world: World, draw: st.DrawFn) -> Planted | None:
    if not world.received:
        return None
    twice = _pick(draw, world.received)
    world.received.append(dataclasses.replace(twice, received_at=world.checked_at))
    return Planted("no-event-lost", "received 2 times", {"event_id": twice.event_id})


def plant_event_lost(world: World, draw: st.DrawFn) -> Planted | None:
    if not world.received:
        return None
    lost = _pick(draw, world.received)
    world.received.remove(lost)
    return Planted("no-event-lost", "published, never received", {"event_id": lost.event_id})


def plant_event_from_nowhere(world: World, draw: st.DrawFn) -> Planted | None:
    event_id = f"evt-forged-{draw(st.integers(1, 99))}"
    world.received.append(ReceivedEvent(event_id, "hold.created"))
    return Planted("no-event-lost", "received, not in the outbox", {"event_id": event_id})


PLANTS: dict[str, Plant] = {
    "double hold": plant_double_hold,
    "double sale": plant_double_sale,
    "wrong seat status": plant_wrong_seat_status,
    "missing seat row": plant_missing_seat_row,
    "unreleased seats": plant_unreleased_seats,
    "hold past TTL": plant_hold_past_ttl,
    "late expiry": plant_late_expiry,
    "late reservation expiry": plant_late_reservation,
    "unpaid reservation past TTL": plant_unpaid_reservation_past_ttl,
    "unrefunded capture": plant_unrefunded_capture,
    "second capture": plant_second_capture,
    "confirmed unpaid": plant_confirmed_unpaid,
    "refund of nothing": plant_refund_of_nothing,
    "webhook applied twice": plant_webhook_applied_twice,
    "webhook never applied": plant_webhook_never_applied,
    "webhook never sent": plant_webhook_never_sent,
    "event received twice": plant_event_received_twice,
    "event lost": plant_event_lost,
    "event from nowhere": plant_event_from_nowhere,
}

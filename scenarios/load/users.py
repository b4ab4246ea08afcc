"""The buyer: the seed's k6 flow as a Locust ``FastHttpUser``. Imports Locust (gevent).

Each buyer signs in once through the real OAuth flow (login → identity provider →
callback, redirects followed by hand because the provider is another host), then loops:
browse concerts, open a zone (zones, seat map), pick seats, hold, reserve, pay — or walk
away, so holds and reservations expire — with think time between steps.

A member may hold at most the concert's ``ticket_limit`` seats, and abandoned holds count
until they expire. So a buyer who has used up the limit (or is refused for it) leaves, and
a new buyer — a new member, signed in the same way — takes the Locust user's place.

Open model (shape kind ``arrival``): each iteration first takes the next slot of the
arrival schedule and sleeps until it; every operation records ``intended_start`` carrying
the iteration's lag (``arrivals.Iteration``), so queueing behind a slow server shows.

This module is the flow: what to do next. Each request, its recording and its judgement
for Locust's statistics live in the API client (``client.BookingClient``).
"""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode, urljoin

import gevent
from gevent import GreenletExit
from locust import FastHttpUser, task

from scenarios.history import Operation, Outcome
from scenarios.load import records, seats
from scenarios.load.arrivals import Iteration, wait_for
from scenarios.load.client import BookingClient, Exchange, is_map
from scenarios.load.context import LoadContext
from scenarios.load.routes import LOGIN

CONTEXT_ATTR = "ticketlab"


def context_of(user: FastHttpUser) -> LoadContext:
    context = getattr(user.environment, CONTEXT_ATTR, None)
    if context is None:
        raise RuntimeError("no workload loaded: run Locust with --ticketlab-workload PATH")
    return context


class Buyer(FastHttpUser):
    """One person buying tickets; see the module docstring for the flow."""

    network_timeout = 10.0
    connection_timeout = 10.0
    max_retries = 0

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.ctx = context_of(self)
        self.workload = self.ctx.workload
        self.number = self.ctx.next_user_number()
        self.rng = self.ctx.rng_for(self.number)
        process = f"{self.ctx.process_tag}-user-{self.number}"
        self.api = BookingClient(self.client, self.ctx.recorder, process, self._intended)
        self.buyer: str | None = None
        self.held: dict[int, int] = {}  # seats this member holds or bought, by concert
        self.limits: dict[int, int] = {}  # ticket_limit, by concert
        self.iteration: Iteration | None = None
        self.shown_free: frozenset[int] = frozenset()  # seats the last seat map showed free

    # Locust hooks ----------------------------------------------------------------------

    def wait_time(self) -> float:
        """Think time between iterations; none in the open model (the schedule paces it)."""
        return 0.0 if self.ctx.open_model else self._think_s()

    def on_start(self) -> None:
        self.sign_in()

    @task
    def buy(self) -> None:
        self.iteration = self._await_slot()
        if self.api.access_token is None and not self.sign_in():
            return
        concert_id = self.rng.choice(self.workload.concert_ids)
        self.browse()
        count = self._seats_wanted(concert_id)
        if count == 0:
            if not self.sign_in():  # used up the ticket limit: a new buyer takes over
                return
            count = self._seats_wanted(concert_id)
        seat_ids = self.choose_seats(concert_id, count)
        if not seat_ids:
            return
        if not self._await_sale():
            self._think()
        hold = self.hold(concert_id, seat_ids, tuple(s for s in seat_ids if s in self.shown_free))
        if hold is None or self.rng.random() < self.workload.abandon.hold:
            return
        self._think()
        reservation = self.reserve(hold)
        if reservation is None or not self.workload.pay:
            return
        if self.rng.random() < self.workload.abandon.reservation:
            return
        self._think()
        self.pay(reservation)

    # Steps -------------------------------------------------------------------------------

    def sign_in(self) -> bool:
        """The browser's sign-in, recorded as one ``sign_in`` operation over three requests.

        Each step is its own request in Locust's statistics; the history gets the flow as
        the buyer lives it: from the first request to the tokens, failing at the first
        step that does not answer as the flow needs (``requests`` says how many were sent).
        Stopped by the generator on the way, the sign-in is ``cut-off``.
        """
        index = getattr(self.environment.runner, "worker_index", 0)
        self.buyer = self.workload.hint_for(self.ctx.next_buyer_number(index))
        self.api.access_token, self.held = None, {}
        query = urlencode({"login_hint": self.buyer})
        api = self.api
        steps: list[Exchange] = []
        try:
            steps.append(
                api.exchange("sign_in: login", "GET", f"{LOGIN.path}?{query}", redirect=True)
            )
            for step in ("authorize", "callback"):
                location = steps[-1].headers.get("location") if steps[-1].status == 302 else None
                if not location:
                    break
                url = urljoin(self._base, location)
                redirect = step == "authorize"
                steps.append(api.exchange(f"sign_in: {step}", "GET", url, redirect=redirect))
        except GreenletExit:
            begun = steps[0].start if steps else api.interrupted.start
            flow = replace(api.interrupted, start=begun, cut_off=True)
            self.ctx.recorder.add(api.operation("sign_in", flow, requests=len(steps) + 1))
            raise
        last = steps[-1]
        token = last.body.get("access_token") if is_map(last.body) else None
        if len(steps) == 3 and last.status == 200 and isinstance(token, str):
            api.access_token = token
        self.ctx.recorder.add(self._sign_in_operation(steps))
        return api.access_token is not None

    def _sign_in_operation(self, steps: list[Exchange]) -> Operation:
        flow = replace(steps[-1], start=steps[0].start)
        op = self.api.operation("sign_in", flow, requests=len(steps))
        if self.api.access_token is None and op.outcome is Outcome.OK:
            step = ("login", "authorize", "callback")[len(steps) - 1]
            wanted = "access_token" if step == "callback" else "a redirect"
            error = f"{step}: expected {wanted}, got HTTP {steps[-1].status}"
            op = replace(op, outcome=Outcome.FAIL, error=error)
        return op

    def browse(self) -> None:
        op, body = self.api.concerts()
        if op.outcome is Outcome.OK and is_map(body):
            for concert in body.get("concerts") or ():
                if is_map(concert) and isinstance(concert.get("ticket_limit"), int):
                    self.limits[int(concert["id"])] = concert["ticket_limit"]

    def choose_seats(self, concert_id: int, count: int) -> tuple[int, ...]:
        selection = self.workload.seats
        self.shown_free = frozenset()
        op, body = self.api.zones(concert_id)
        if op.outcome is not Outcome.OK or not is_map(body):
            return ()
        codes = [str(z["code"]) for z in body.get("zones") or () if is_map(z) and "code" in z]
        if selection.mode == "fixed":
            return seats.pick_from(self.rng, selection.seat_ids, count)
        if not codes:
            return ()
        hot = seats.goes_for_hotspot(self.rng, selection)
        zone = seats.hot_zone(selection, codes) if hot else seats.choose_zone(self.rng, codes)
        op, body = self.api.seat_map(concert_id, zone, self.workload.seat_map_form)
        if op.outcome is not Outcome.OK:
            return ()
        seat_map = seats.seat_views(body)
        self.shown_free = frozenset(s.id for s in seat_map if s.status == seats.AVAILABLE)
        if hot:
            return seats.pick_from(self.rng, self.ctx.hot_set(concert_id, seat_map), count)
        return seats.pick_preferring_available(self.rng, seat_map, count)

    def hold(
        self, concert_id: int, seat_ids: tuple[int, ...], shown_free: tuple[int, ...] = ()
    ) -> dict[str, Any] | None:
        op, body = self.api.hold(concert_id, seat_ids, shown_free)
        if op.outcome is Outcome.OK and is_map(body):
            self.held[concert_id] = self.held.get(concert_id, 0) + len(seat_ids)
            return body
        if op.problem_type == records.PROBLEM_BASE + "ticket-limit":
            self.held[concert_id] = self.limits.get(concert_id, self.held.get(concert_id, 0))
        return None

    def reserve(self, hold: dict[str, Any]) -> dict[str, Any] | None:
        op, body = self.api.reserve(hold)
        return body if op.outcome is Outcome.OK and is_map(body) else None

    def pay(self, reservation: dict[str, Any]) -> bool:
        """Issue 3's flow: payment details, the provider's checkout, then confirm."""
        op, details, ids = self.api.start_payment(reservation)
        if op.outcome is not Outcome.OK or not is_map(details):
            return False
        op, paid = self.api.checkout(details, ids)
        payment_key = paid.get("paymentKey") if is_map(paid) else None
        if op.outcome is not Outcome.OK or not payment_key:
            return False
        op, _ = self.api.confirm(details, payment_key, ids)
        return op.outcome is Outcome.OK

    # Plumbing ---------------------------------------------------------------------------

    @property
    def _base(self) -> str:
        return (self.host or self.workload.service_url).rstrip("/") + "/"

    def _seats_wanted(self, concert_id: int) -> int:
        """Seats for the next hold, within what this member may still hold (0: none left)."""
        low, high = self.workload.seats_per_hold
        wanted = seats.seat_count(self.rng, low, high)
        limit = self.limits.get(concert_id)
        if limit is None:
            return wanted
        room = limit - self.held.get(concert_id, 0)
        return min(wanted, room) if room >= low else 0

    def _think_s(self) -> float:
        low, high = self.workload.think_time_s
        return self.rng.uniform(low, high)

    def _await_sale(self) -> bool:
        """Before the sale opens, wait for it: every buyer then asks at the same instant."""
        wait = self.ctx.sale_opens_at - self.ctx.clock()
        if wait <= 0:
            return False
        gevent.sleep(wait)
        return True

    def _think(self) -> None:
        pause = self._think_s()
        if pause > 0:
            gevent.sleep(pause)

    def _await_slot(self) -> Iteration | None:
        """Open model: take the next arrival slot and sleep until it (late: start now)."""
        if not self.ctx.open_model:
            return None
        slot = self.ctx.next_slot(getattr(self.environment.runner, "worker_index", 0))
        pause = wait_for(slot, time.time())
        if pause > 0:
            gevent.sleep(pause)
        return Iteration(slot=slot, began=time.time())

    def _intended(self, start: float) -> float | None:
        return None if self.iteration is None else self.iteration.intended_start(start)

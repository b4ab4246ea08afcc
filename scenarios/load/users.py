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

Payment (``pay``: true) follows issue 3: ``POST /api/v1/reservations/{id}/payment`` →
``{order_id, amount, checkout: {url, body}, confirm: {path}}``, then the provider's
checkout (``POST {psp}/_lab/checkout`` with ``checkout.body``, i.e. ``{orderId, orderName,
amount}`` → ``paymentKey``; the URL is ``checkout.url`` when it points at
``/_lab/checkout``, else the workload's ``psp_url``), then ``POST /api/v1/payments/confirm
{paymentKey, orderId, amount}`` (``confirm.path`` if given). The amount is always the one
the service answered. A service without these endpoints records ``payment`` as a 404 ``fail``.

Locust's statistics group requests by operation (``name=``); the history gets every
operation with its outcome, times, ids and the request id the service echoed.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode, urljoin

import gevent
from gevent import GreenletExit
from locust import FastHttpUser, task

from scenarios.history import Operation, Outcome
from scenarios.load import records, seats
from scenarios.load.arrivals import Iteration, wait_for
from scenarios.load.context import LoadContext
from scenarios.load.records import Ids

API = "/api/v1"
REQUEST_ID = "X-Request-Id"
CHECKOUT_PATH = "/_lab/checkout"
CONTEXT_ATTR = "ticketlab"


@dataclass(frozen=True)
class Exchange:
    """One request and its answer (``status`` 0: none came)."""

    status: int
    body: Any
    headers: dict[str, str]
    error: BaseException | None
    request_id: str
    start: float
    end: float


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
        self.process_name = f"{self.ctx.process_tag}-user-{self.number}"
        self.access_token: str | None = None
        self.buyer: str | None = None
        self.held: dict[int, int] = {}  # seats this member holds or bought, by concert
        self.limits: dict[int, int] = {}  # ticket_limit, by concert
        self.iteration: Iteration | None = None

    # Locust hooks ----------------------------------------------------------------------

    def wait_time(self) -> float:
        """Think time between iterations; none in the open model (the schedule paces it)."""
        return 0.0 if self.ctx.open_model else self._think_s()

    def on_start(self) -> None:
        self.sign_in()

    @task
    def buy(self) -> None:
        self.iteration = self._await_slot()
        if self.access_token is None and not self.sign_in():
            return
        concert_id = self.rng.choice(self.workload.concert_ids)
        self.browse(concert_id)
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
        hold = self.hold(concert_id, seat_ids)
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
        step that does not answer as the flow needs.
        """
        index = getattr(self.environment.runner, "worker_index", 0)
        self.buyer = self.workload.hint_for(self.ctx.next_buyer_number(index))
        self.access_token, self.held = None, {}
        query = urlencode({"login_hint": self.buyer})
        steps = [self._exchange("sign_in: login", "GET", f"/auth/login?{query}", redirect=True)]
        for step in ("authorize", "callback"):
            location = steps[-1].headers.get("location") if steps[-1].status == 302 else None
            if not location:
                break
            url = urljoin(self._base, location)
            redirect = step == "authorize"
            steps.append(self._exchange(f"sign_in: {step}", "GET", url, redirect=redirect))
        last = steps[-1]
        token = last.body.get("access_token") if _is_map(last.body) else None
        if len(steps) == 3 and last.status == 200 and isinstance(token, str):
            self.access_token = token
        op = records.build_operation(
            "sign_in",
            self.process_name,
            start=steps[0].start,
            end=last.end,
            status=last.status,
            body=last.body,
            error=last.error,
            request_id=last.request_id,
            intended_start=self._intended(steps[0].start),
        )
        if self.access_token is None and op.outcome is Outcome.OK:
            step = ("login", "authorize", "callback")[len(steps) - 1]
            wanted = "access_token" if step == "callback" else "a redirect"
            error = f"{step}: expected {wanted}, got HTTP {last.status}"
            op = replace(op, outcome=Outcome.FAIL, error=error)
        self.ctx.recorder.add(op)
        return self.access_token is not None

    def browse(self, concert_id: int) -> None:
        op, body = self._call("browse", "GET", f"{API}/concerts", auth=False)
        if op.outcome is Outcome.OK and _is_map(body):
            for concert in body.get("concerts") or ():
                if _is_map(concert) and isinstance(concert.get("ticket_limit"), int):
                    self.limits[int(concert["id"])] = concert["ticket_limit"]

    def choose_seats(self, concert_id: int, count: int) -> tuple[int, ...]:
        selection = self.workload.seats
        op, body = self._call("zones", "GET", f"{API}/concerts/{concert_id}/zones", auth=False)
        if op.outcome is not Outcome.OK or not _is_map(body):
            return ()
        codes = [str(z["code"]) for z in body.get("zones") or () if _is_map(z) and "code" in z]
        if selection.mode == "fixed":
            return seats.pick_from(self.rng, selection.seat_ids, count)
        if not codes:
            return ()
        hot = seats.goes_for_hotspot(self.rng, selection)
        zone = seats.hot_zone(selection, codes) if hot else seats.choose_zone(self.rng, codes)
        op, body = self._call(
            "seat_map", "GET", f"{API}/concerts/{concert_id}/zones/{zone}/seats", auth=False
        )
        if op.outcome is not Outcome.OK:
            return ()
        seat_map = seats.seat_views(body)
        if hot:
            return seats.pick_from(self.rng, self.ctx.hot_set(concert_id, seat_map), count)
        return seats.pick_preferring_available(self.rng, seat_map, count)

    def hold(self, concert_id: int, seat_ids: tuple[int, ...]) -> dict[str, Any] | None:
        op, body = self._call(
            "hold",
            "POST",
            f"{API}/concerts/{concert_id}/holds",
            json={"seat_ids": list(seat_ids)},
            ids=lambda b: Ids(hold_id=_id(b), seat_ids=seat_ids),
        )
        if op.outcome is Outcome.OK and _is_map(body):
            self.held[concert_id] = self.held.get(concert_id, 0) + len(seat_ids)
            return body
        if op.problem_type == records.PROBLEM_BASE + "ticket-limit":
            self.held[concert_id] = self.limits.get(concert_id, self.held.get(concert_id, 0))
        return None

    def reserve(self, hold: dict[str, Any]) -> dict[str, Any] | None:
        hold_id = _id(hold)
        base = Ids(hold_id=hold_id, seat_ids=_seat_ids(hold))
        op, body = self._call(
            "reserve",
            "POST",
            f"{API}/holds/{hold_id}/reservation",
            ids=lambda b: Ids(reservation_id=_id(b), order_id=_order_id(b)).merged(base),
        )
        return body if op.outcome is Outcome.OK and _is_map(body) else None

    def pay(self, reservation: dict[str, Any]) -> bool:
        """Issue 3's flow: payment details, the provider's checkout, then confirm."""
        base = Ids(
            hold_id=_int(reservation.get("hold_id")),
            reservation_id=_id(reservation),
            order_id=_order_id(reservation),
        )
        op, body = self._call(
            "payment",
            "POST",
            f"{API}/reservations/{base.reservation_id}/payment",
            ids=lambda b: Ids(order_id=_order_id(b)).merged(base),
        )
        if op.outcome is not Outcome.OK or not _is_map(body):
            return False
        order_id = _order_id(body) or base.order_id
        amount = body.get("amount", reservation.get("amount"))
        checkout = body.get("checkout") if _is_map(body.get("checkout")) else {}
        url = self._checkout_url(checkout)
        ids = replace(base, order_id=order_id)
        if url is None:
            self._record_local_failure("checkout", ids, "no checkout URL (set psp_url)")
            return False
        checkout_body = checkout.get("body") if _is_map(checkout.get("body")) else None
        op, paid = self._call(
            "checkout",
            "POST",
            url,
            auth=False,
            json=checkout_body
            or {
                "orderId": order_id,
                "orderName": body.get("order_name") or f"ticketlab {order_id}",
                "amount": amount,
            },
            ids=lambda b: ids,
        )
        payment_key = paid.get("paymentKey") if _is_map(paid) else None
        if op.outcome is not Outcome.OK or not payment_key:
            return False
        confirm = body.get("confirm") if _is_map(body.get("confirm")) else {}
        path = confirm.get("path") if isinstance(confirm.get("path"), str) else None
        op, _ = self._call(
            "confirm",
            "POST",
            path or f"{API}/payments/confirm",
            json={"paymentKey": payment_key, "orderId": order_id, "amount": amount},
            ids=lambda b: ids,
        )
        return op.outcome is Outcome.OK

    # Plumbing ---------------------------------------------------------------------------

    @property
    def _base(self) -> str:
        return (self.host or self.workload.service_url).rstrip("/") + "/"

    def _checkout_url(self, checkout: dict[str, Any]) -> str | None:
        url = checkout.get("url")
        if isinstance(url, str) and url.rstrip("/").endswith(CHECKOUT_PATH):
            return url
        if self.workload.psp_url:
            return self.workload.psp_url + CHECKOUT_PATH
        return None

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

    def _call(
        self,
        name: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        auth: bool = True,
        ids: Callable[[Any], Ids] | None = None,
    ) -> tuple[Operation, Any]:
        """One request as one recorded operation; Locust's stats judged the same way."""
        holder: list[Operation] = []

        def judge(exchange: Exchange) -> str | None:
            op = records.build_operation(
                name,
                self.process_name,
                start=exchange.start,
                end=exchange.end,
                status=exchange.status,
                body=exchange.body,
                error=exchange.error,
                request_id=exchange.request_id,
                intended_start=self._intended(exchange.start),
                ids=ids(exchange.body) if ids is not None else Ids(),
            )
            holder.append(op)
            return records.locust_failure(op)

        exchange = self._exchange(name, method, url, json=json, auth=auth, judge=judge)
        self.ctx.recorder.add(holder[0])
        return holder[0], exchange.body

    def _exchange(
        self,
        name: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        auth: bool = True,
        redirect: bool = False,
        judge: Callable[[Exchange], str | None] | None = None,
    ) -> Exchange:
        """Send one request with our own request id; never follows redirects.

        ``judge`` says what Locust should count (``None``: success). Without one, a 2xx
        (or a 302 when ``redirect``) is a success and anything else a failure. A user
        stopped mid-request (ramp-down, end of test) is recorded as ``unknown``: the
        request may have reached the service.
        """
        request_id = uuid.uuid4().hex
        headers = {REQUEST_ID: request_id}
        if auth and self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        start = time.time()
        try:
            with self.client.request(
                method,
                url,
                name=name,
                json=json,
                headers=headers,
                catch_response=True,
                allow_redirects=False,
            ) as response:
                exchange = _exchange_of(response, request_id, start, time.time())
                verdict = (judge or _default_judge(redirect))(exchange)
                if verdict is None:
                    response.success()
                else:
                    response.failure(verdict)
                return exchange
        except GreenletExit:
            self._record_stopped(name, start, request_id)
            raise

    def _record_stopped(self, name: str, start: float, request_id: str) -> None:
        self.ctx.recorder.add(
            records.build_operation(
                name,
                self.process_name,
                start=start,
                end=time.time(),
                status=None,
                error="stopped: the load generator ended the user mid-request",
                request_id=request_id,
                intended_start=self._intended(start),
            )
        )

    def _record_local_failure(self, name: str, ids: Ids, reason: str) -> None:
        now = time.time()
        op = records.build_operation(
            name,
            self.process_name,
            start=now,
            end=now,
            status=None,
            ids=ids,
            intended_start=self._intended(now),
        )
        self.ctx.recorder.add(replace(op, outcome=Outcome.FAIL, error=reason))


def _default_judge(redirect: bool) -> Callable[[Exchange], str | None]:
    def judge(exchange: Exchange) -> str | None:
        if redirect and exchange.status == 302:
            return None
        if not redirect and 200 <= exchange.status < 300:
            return None
        if exchange.status == 0:
            return f"unknown: {records.describe_error(exchange.error) or 'no answer'}"
        return f"fail: HTTP {exchange.status}"

    return judge


def _exchange_of(response: Any, request_id: str, start: float, end: float) -> Exchange:
    status = int(response.status_code or 0)
    headers: dict[str, str] = {}
    if status and response.headers is not None:
        headers = {k.lower(): v for k, v in response.headers.items()}
    body: Any = None
    if status and response.content:
        try:
            body = json.loads(response.content)
        except ValueError:
            body = None
    return Exchange(
        status=status,
        body=body,
        headers=headers,
        error=getattr(response, "error", None) if not status else None,
        request_id=headers.get(REQUEST_ID.lower(), request_id),
        start=start,
        end=end,
    )


def _is_map(value: Any) -> bool:
    return isinstance(value, dict)


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id(body: Any) -> int | None:
    return _int(body.get("id")) if _is_map(body) else None


def _order_id(body: Any) -> str | None:
    if not _is_map(body):
        return None
    value = body.get("order_id", body.get("orderId"))
    return str(value) if value is not None else None


def _seat_ids(hold: Any) -> tuple[int, ...]:
    return records.ids_from_body(hold).seat_ids

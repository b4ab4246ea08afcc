"""The booking API as a buyer calls it, over a Locust ``FastHttpSession``. Imports gevent.

Every endpoint is one method that sends one request and records it as one history
``Operation`` (``records.build_operation``), judged for Locust's statistics the same way
(``records.locust_failure``), so Locust's tables and the history never disagree about what
was a success. The flow that decides what to call next is ``users.Buyer``.

Payment follows issue 3: ``POST /api/v1/reservations/{id}/payment`` answers ``{order_id,
amount, checkout: {url, body}, confirm: {path}}``; the buyer posts ``checkout.body`` to
``checkout.url`` (the provider's ``/_lab/checkout``, which answers a ``paymentKey``), then
``{paymentKey, orderId, amount}`` to ``confirm.path``. Amounts are always the service's.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from gevent import GreenletExit

from scenarios.history import Operation
from scenarios.load import records
from scenarios.load.recorder import Recorder
from scenarios.load.records import Ids
from scenarios.load.routes import ROUTES

REQUEST_ID = "X-Request-Id"


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
    cut_off: bool = False  # the generator stopped the user before any answer arrived


Judge = Callable[[Exchange], str | None]


class BookingClient:
    """One buyer's connection to the service: its token, its recorder, its clock."""

    def __init__(
        self,
        session: Any,
        recorder: Recorder,
        process: str,
        intended: Callable[[float], float | None],
    ) -> None:
        self.session = session
        self.recorder = recorder
        self.process = process
        self.intended = intended
        self.access_token: str | None = None
        self.interrupted = Exchange(0, None, {}, None, "", 0.0, 0.0, cut_off=True)
        self.validators: dict[str, tuple[str, Any]] = {}  # url → (ETag, body), as a browser

    # -- endpoints --------------------------------------------------------------------------

    def concerts(self) -> tuple[Operation, Any]:
        return self.call("browse", "GET", ROUTES["browse"].url(), auth=False, revalidate=True)

    def zones(self, concert_id: int) -> tuple[Operation, Any]:
        url = ROUTES["zones"].url(concert_id)
        return self.call("zones", "GET", url, auth=False, revalidate=True)

    def seat_map(self, concert_id: int, zone: str, form: str = "compact") -> tuple[Operation, Any]:
        """The compact form unless asked otherwise; revalidated like a browser would."""
        url = ROUTES["seat_map"].url(concert_id, zone) + f"?form={form}"
        return self.call("seat_map", "GET", url, auth=False, revalidate=True)

    def hold(
        self, concert_id: int, seat_ids: tuple[int, ...], shown_free: tuple[int, ...] = ()
    ) -> tuple[Operation, Any]:
        """``shown_free``: the seats the buyer's seat map showed available (for stale reads)."""
        return self.call(
            "hold",
            "POST",
            ROUTES["hold"].url(concert_id),
            json={"seat_ids": list(seat_ids)},
            ids=lambda b: Ids(hold_id=body_id(b), seat_ids=seat_ids),
            shown_free=shown_free,
        )

    def reserve(self, hold: dict[str, Any]) -> tuple[Operation, Any]:
        hold_id = body_id(hold)
        base = Ids(hold_id=hold_id, seat_ids=records.ids_from_body(hold).seat_ids)
        return self.call(
            "reserve",
            "POST",
            ROUTES["reserve"].url(hold_id),
            ids=lambda b: Ids(reservation_id=body_id(b), order_id=order_id_of(b)).merged(base),
        )

    def start_payment(self, reservation: dict[str, Any]) -> tuple[Operation, Any, Ids]:
        """The payment details; the ids the rest of the payment is recorded with."""
        ids = Ids(
            hold_id=as_int(reservation.get("hold_id")),
            reservation_id=body_id(reservation),
            order_id=order_id_of(reservation),
        )
        op, body = self.call(
            "payment",
            "POST",
            ROUTES["payment"].url(ids.reservation_id),
            ids=lambda b: Ids(order_id=order_id_of(b)).merged(ids),
        )
        return op, body, Ids(order_id=order_id_of(body)).merged(ids)

    def checkout(self, details: dict[str, Any], ids: Ids) -> tuple[Operation, Any]:
        """The provider's checkout page, as the service described it."""
        page = details["checkout"]
        url, body = page["url"], page["body"]
        return self.call("checkout", "POST", url, auth=False, json=body, ids=lambda b: ids)

    def confirm(self, details: dict[str, Any], payment_key: str, ids: Ids) -> tuple[Operation, Any]:
        body = {"paymentKey": payment_key, "orderId": ids.order_id, "amount": details["amount"]}
        path = details["confirm"]["path"]
        return self.call("confirm", "POST", path, json=body, ids=lambda b: ids)

    # -- one request --------------------------------------------------------------------------

    def call(
        self,
        name: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        auth: bool = True,
        ids: Callable[[Any], Ids] | None = None,
        revalidate: bool = False,
        shown_free: tuple[int, ...] = (),
    ) -> tuple[Operation, Any]:
        """One request as one recorded operation; Locust's stats judged the same way.

        Stopped by the generator mid-request, it is recorded before the stop goes on:
        ``cut-off`` if no answer had arrived, else as the service answered. With
        ``revalidate`` the last answer's ETag goes in ``If-None-Match`` and a 304 answers
        with the body kept from then.
        """
        holder: list[Operation] = []

        def judge(exchange: Exchange) -> str | None:
            holder.append(replace(self.operation(name, exchange, ids), shown_free=shown_free))
            return records.locust_failure(holder[0])

        cached = self.validators.get(url) if revalidate else None
        try:
            exchange = self.exchange(
                name, method, url, json=json, auth=auth, judge=judge, cached=cached
            )
        except GreenletExit:
            op = self.operation(name, self.interrupted, ids)
            self.recorder.add(replace(op, shown_free=shown_free))
            raise
        self.recorder.add(holder[0])
        etag = exchange.headers.get("etag")
        if revalidate and exchange.status == 200 and etag:
            self.validators[url] = (etag, exchange.body)
        return holder[0], exchange.body

    def operation(
        self, name: str, exchange: Exchange, ids: Callable[[Any], Ids] | None = None, requests=1
    ) -> Operation:
        """The history record of one exchange (``status`` 0 after a stop: cut off)."""
        known = ids(exchange.body) if ids is not None else Ids()
        intended = self.intended(exchange.start)
        if exchange.cut_off:
            return records.cut_off_operation(
                name,
                self.process,
                start=exchange.start,
                end=exchange.end,
                request_id=exchange.request_id,
                intended_start=intended,
                ids=known,
                requests=requests,
            )
        op = records.build_operation(
            name,
            self.process,
            start=exchange.start,
            end=exchange.end,
            status=exchange.status,
            body=exchange.body,
            error=exchange.error,
            request_id=exchange.request_id,
            intended_start=intended,
            ids=known,
            headers=exchange.headers,
        )
        return op if requests == 1 else replace(op, requests=requests)

    def exchange(
        self,
        name: str,
        method: str,
        url: str,
        *,
        json: Any = None,
        auth: bool = True,
        redirect: bool = False,
        judge: Judge | None = None,
        cached: tuple[str, Any] | None = None,
    ) -> Exchange:
        """Send one request with our own request id; never follows redirects.

        ``judge`` says what Locust should count (``None``: success). Without one, a 2xx
        (or a 302 when ``redirect``) is a success and anything else a failure.

        When the generator stops the user (``GreenletExit``: ramp-down, end of test),
        ``interrupted`` keeps what had arrived before the exit goes on: nothing (a cut-off
        exchange) or the status line and headers (the body is read here, not by Locust,
        so the status is known even when the stop lands during the body).
        """
        request_id = uuid.uuid4().hex
        headers = {REQUEST_ID: request_id}
        if auth and self.access_token:
            headers["Authorization"] = f"Bearer {self.access_token}"
        if cached is not None:
            headers["If-None-Match"] = cached[0]
        start = time.time()
        self.interrupted = Exchange(0, None, {}, None, request_id, start, start, cut_off=True)
        try:
            with self.session.request(
                method,
                url,
                name=name,
                json=json,
                headers=headers,
                catch_response=True,
                allow_redirects=False,
                stream=True,
            ) as response:
                status = int(response.status_code or 0)
                if status:
                    self.interrupted = Exchange(
                        status, None, _headers(response), None, request_id, start, time.time()
                    )
                exchange = exchange_of(response, request_id, start)
                if exchange.status == 304 and cached is not None:
                    exchange = replace(exchange, body=cached[1])
                verdict = (judge or default_judge(redirect))(exchange)
                if verdict is None:
                    response.success()
                else:
                    response.failure(verdict)
                return exchange
        except GreenletExit:
            if self.interrupted.cut_off:  # else it ends when its answer arrived
                self.interrupted = replace(self.interrupted, end=time.time())
            raise


def default_judge(redirect: bool) -> Judge:
    def judge(exchange: Exchange) -> str | None:
        if redirect and exchange.status == 302:
            return None
        if not redirect and 200 <= exchange.status < 300:
            return None
        if exchange.status == 0:
            return f"unknown: {records.describe_error(exchange.error) or 'no answer'}"
        return f"fail: HTTP {exchange.status}"

    return judge


def exchange_of(response: Any, request_id: str, start: float) -> Exchange:
    """The whole exchange: reads the body (the request was sent with ``stream=True``)."""
    status = int(response.status_code or 0)
    headers = _headers(response) if status else {}
    content = response.content if status else None
    end = time.time()
    body: Any = None
    if content:
        try:
            body = json.loads(content)
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


def _headers(response: Any) -> dict[str, str]:
    if response.headers is None:
        return {}
    return {k.lower(): v for k, v in response.headers.items()}


def is_map(value: Any) -> bool:
    return isinstance(value, dict)


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def body_id(body: Any) -> int | None:
    return as_int(body.get("id")) if is_map(body) else None


def order_id_of(body: Any) -> str | None:
    if not is_map(body):
        return None
    value = body.get("order_id", body.get("orderId"))
    return str(value) if value is not None else None

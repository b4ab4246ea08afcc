"""Which service route each operation calls, so client and server counts can be compared.

The client (``client.py``) builds its URLs from these templates, and the summary counts
the history per route beside the service's own ``ticketlab_http_requests_total``. Paths
use ``{}`` for a path parameter; the service's route labels (``{concert_id}``,
``{zone}``) are compared with their parameter names blanked out.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from scenarios.history import Operation, Outcome

API = "/api/v1"
PARAMETER = re.compile(r"\{[^}]*\}")
REQUESTS_TOTAL = "ticketlab_http_requests_total"


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # "{}" for each path parameter

    def url(self, *parameters: Any) -> str:
        return self.path.format(*parameters)

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


ROUTES: Mapping[str, Route] = {
    "browse": Route("GET", f"{API}/concerts"),
    "zones": Route("GET", f"{API}/concerts/{{}}/zones"),
    "seat_map": Route("GET", f"{API}/concerts/{{}}/zones/{{}}/seats"),
    "hold": Route("POST", f"{API}/concerts/{{}}/holds"),
    "reserve": Route("POST", f"{API}/holds/{{}}/reservation"),
    "payment": Route("POST", f"{API}/reservations/{{}}/payment"),
    "confirm": Route("POST", f"{API}/payments/confirm"),
}
LOGIN = Route("GET", "/auth/login")
CALLBACK = Route("GET", "/auth/callback")
#: The sign-in's requests, in order; the second goes to the identity provider.
SIGN_IN_STEPS: tuple[Route | None, ...] = (LOGIN, None, CALLBACK)


def normalized(path: str) -> str:
    return PARAMETER.sub("{}", path)


def client_counts(operations: Iterable[Operation]) -> tuple[Counter[str], Counter[str]]:
    """(answered, in flight) requests per route label, from the history.

    A request that got no answer — cut off by the generator's stop, or timed out — was in
    flight: the service may or may not have counted it. A sign-in counts each of its
    requests (its last is the unanswered one, if any).
    """
    answered: Counter[str] = Counter()
    in_flight: Counter[str] = Counter()
    for op in operations:
        cut = op.outcome is Outcome.CUT_OFF or op.status is None
        if op.name == "sign_in":
            for number, route in enumerate(SIGN_IN_STEPS[: op.requests], start=1):
                if route is not None:
                    last = number == op.requests
                    (in_flight if cut and last else answered)[route.label] += 1
        elif op.name in ROUTES:
            (in_flight if cut else answered)[ROUTES[op.name].label] += 1
    return answered, in_flight


def server_counts(samples: Mapping[str, float]) -> Counter[str]:
    """Requests the service counted per route label (every status), from one scrape."""
    counts: Counter[str] = Counter()
    pattern = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
    for key, value in samples.items():
        name, _, labels = key.partition("{")
        if name != REQUESTS_TOTAL:
            continue
        found = dict(pattern.findall(labels))
        if "method" in found and "route" in found:
            counts[f"{found['method']} {normalized(found['route'])}"] += int(value)
    return counts


def compare(
    operations: Iterable[Operation], samples: Mapping[str, float] | None
) -> list[dict[str, Any]]:
    """Per route the client uses: answered, in flight, what the service counted, and whether
    the difference is more than the requests in flight can explain (``mismatch``)."""
    answered, in_flight = client_counts(operations)
    server = server_counts(samples) if samples is not None else None
    rows = []
    for label in sorted(set(answered) | set(in_flight)):
        row: dict[str, Any] = {
            "route": label,
            "client_answered": answered[label],
            "client_in_flight": in_flight[label],
            "server": None,
            "difference": None,
            "mismatch": None,
        }
        if server is not None:
            counted = server[label]
            difference = counted - answered[label]
            row.update(
                server=counted,
                difference=difference,
                mismatch=not 0 <= difference <= in_flight[label],
            )
        rows.append(row)
    return rows

"""Which seats a buyer asks for: the knob that sets contention.

``uniform``
    a random zone, then random seats among those the seat map shows AVAILABLE — buyers
    mostly miss each other, as in a calm sale;
``hotspot``
    with probability ``hotspot_share`` the buyer goes for the hot set (the first
    ``hotspot_seats`` seats, by id, of the hot zone: front-row seats everyone wants)
    *whatever the seat map says*, so the claim strategy is really contended; otherwise as
    ``uniform``;
``fixed``
    seats drawn from a given list only (a scenario that needs every buyer on the same few
    seats, like the double-booking check).

Everything here is a pure function of a ``random.Random`` and the seat map, so the
distributions are tested with a fixed seed.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from service.domain.availability import COMPACT_FORMAT, decode_compact

SelectionMode = Literal["uniform", "hotspot", "fixed"]
AVAILABLE = "AVAILABLE"
TAKEN = "TAKEN"


@dataclass(frozen=True)
class SeatSelection:
    mode: SelectionMode = "uniform"
    hotspot_share: float = 0.0
    hotspot_seats: int = 0
    hotspot_zone: str | None = None  # None: the first zone the service lists
    seat_ids: tuple[int, ...] = ()  # the ``fixed`` list


@dataclass(frozen=True)
class SeatView:
    """A seat as the seat map shows it; only what picking needs."""

    id: int
    status: str

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SeatView:
        return cls(int(data["id"]), str(data.get("status", AVAILABLE)))


def seat_views(body: Any) -> tuple[SeatView, ...]:
    """The seats of a ``GET …/zones/{zone}/seats`` answer: verbose (``{"seats": [...]}``)
    or compact (the layout and a bitmap; a seat not available shows as ``TAKEN``)."""
    if isinstance(body, Mapping) and body.get("format") == COMPACT_FORMAT:
        return tuple(
            SeatView(int(s["id"]), AVAILABLE if s["available"] else TAKEN)
            for s in decode_compact(dict(body))
        )
    seats = body.get("seats", []) if isinstance(body, Mapping) else []
    return tuple(SeatView.from_json(s) for s in seats if isinstance(s, Mapping) and "id" in s)


def hot_set(seats: Sequence[SeatView], size: int) -> tuple[int, ...]:
    """The same hot seats for every buyer in every process: the lowest ids of the hot zone."""
    return tuple(sorted(s.id for s in seats)[:size])


def pick_preferring_available(
    rng: random.Random, seats: Sequence[SeatView], count: int
) -> tuple[int, ...]:
    """``count`` distinct seats, AVAILABLE ones first; taken ones only to make up the number.

    A stale seat map (or a sold-out zone) still yields a request, which the service then
    refuses: that refusal is part of what the lab measures.
    """
    free = [s.id for s in seats if s.status == AVAILABLE]
    taken = [s.id for s in seats if s.status != AVAILABLE]
    chosen = rng.sample(free, min(count, len(free)))
    if len(chosen) < count:
        chosen += rng.sample(taken, min(count - len(chosen), len(taken)))
    return tuple(sorted(chosen))


def pick_from(rng: random.Random, ids: Sequence[int], count: int) -> tuple[int, ...]:
    """``count`` distinct seats from ``ids`` regardless of their state (hot set, fixed list)."""
    return tuple(sorted(rng.sample(list(ids), min(count, len(ids)))))


def seat_count(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high)


def goes_for_hotspot(rng: random.Random, selection: SeatSelection) -> bool:
    """Whether this attempt aims at the hot set (always False outside ``hotspot`` mode)."""
    return selection.mode == "hotspot" and rng.random() < selection.hotspot_share


def choose_zone(rng: random.Random, zone_codes: Sequence[str]) -> str:
    if not zone_codes:
        raise ValueError("the concert has no zones")
    return rng.choice(list(zone_codes))


def hot_zone(selection: SeatSelection, zone_codes: Sequence[str]) -> str:
    """The configured hot zone, else the first the service lists (the same for everyone)."""
    if selection.hotspot_zone is not None:
        return selection.hotspot_zone
    if not zone_codes:
        raise ValueError("the concert has no zones")
    return zone_codes[0]

"""Seat picking: available seats first, the hot spot's share, fixed lists."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from scenarios.load.seats import (
    SeatSelection,
    SeatView,
    choose_zone,
    goes_for_hotspot,
    hot_set,
    hot_zone,
    pick_from,
    pick_preferring_available,
    seat_views,
)

PICKS = 20_000


def seat_map(available: range, taken: range = range(0)) -> list[SeatView]:
    return [SeatView(i, "AVAILABLE") for i in available] + [SeatView(i, "HELD") for i in taken]


def test_available_seats_are_picked_before_taken_ones() -> None:
    rng = random.Random(7)
    seats = seat_map(range(1, 4), taken=range(4, 40))
    for _ in range(200):
        assert set(pick_preferring_available(rng, seats, 3)) == {1, 2, 3}


def test_a_sold_out_zone_still_yields_a_request_the_service_can_refuse() -> None:
    picked = pick_preferring_available(random.Random(1), seat_map(range(0), range(1, 10)), 2)
    assert len(picked) == 2 and len(set(picked)) == 2


def test_the_hotspot_share_is_respected_over_many_picks() -> None:
    rng = random.Random(42)
    selection = SeatSelection(mode="hotspot", hotspot_share=0.3, hotspot_seats=10)
    hot = sum(goes_for_hotspot(rng, selection) for _ in range(PICKS))
    # binomial sd is about 65 picks; 600 is more than 9 sd, and the seed is fixed anyway
    assert abs(hot - 0.3 * PICKS) < 600


def test_hot_picks_hit_every_hot_seat_about_equally_and_nothing_else() -> None:
    rng = random.Random(3)
    hot = hot_set(seat_map(range(500, 1000)), 10)
    assert hot == tuple(range(500, 510))
    counts = Counter(seat for _ in range(PICKS) for seat in pick_from(rng, hot, 2))
    assert set(counts) == set(hot)
    assert max(counts.values()) - min(counts.values()) < 0.1 * (2 * PICKS / 10)


def test_uniform_picks_spread_over_the_available_seats() -> None:
    rng = random.Random(5)
    seats = seat_map(range(1, 101))
    counts = Counter(s for _ in range(PICKS) for s in pick_preferring_available(rng, seats, 1))
    assert len(counts) == 100
    assert max(counts.values()) < 2 * PICKS / 100


def test_only_the_hotspot_mode_ever_goes_for_the_hotspot() -> None:
    rng = random.Random(0)
    uniform = SeatSelection(mode="uniform", hotspot_share=1.0, hotspot_seats=5)
    assert not any(goes_for_hotspot(rng, uniform) for _ in range(100))


def test_picks_are_distinct_sorted_and_capped_by_what_exists() -> None:
    rng = random.Random(9)
    assert pick_from(rng, (9, 3), 5) == (3, 9)
    picked = pick_preferring_available(rng, seat_map(range(1, 50)), 4)
    assert list(picked) == sorted(set(picked)) and len(picked) == 4


def test_the_hot_zone_is_the_configured_one_else_the_first_listed() -> None:
    assert hot_zone(SeatSelection(mode="hotspot", hotspot_zone="C"), ["A", "B"]) == "C"
    assert hot_zone(SeatSelection(mode="hotspot"), ["B", "A"]) == "B"
    with pytest.raises(ValueError, match="no zones"):
        choose_zone(random.Random(0), [])


def test_seat_views_read_the_services_seat_map() -> None:
    body = {
        "seats": [
            {"id": 4, "zone_code": "A", "row": "a", "number": 1, "price": 9, "status": "SOLD"},
            {"id": 5, "status": "AVAILABLE"},
            {"no": "id"},
        ]
    }
    assert seat_views(body) == (SeatView(4, "SOLD"), SeatView(5, "AVAILABLE"))
    assert seat_views(None) == ()


def test_a_compact_seat_map_gives_the_same_choices_as_the_verbose_one() -> None:
    from scenarios.load import seats
    from service.domain.availability import ZoneInfo, ZoneLayout, ZoneSnapshot, compact_form

    zone = ZoneInfo(1, 1, "A", "VIP", 10, 1, 3)
    layout = ZoneLayout(zone, (5, 6, 7), ("a", "a", "a"), (1, 2, 3), (10, 10, 10))
    snap = ZoneSnapshot(layout, version=2, statuses="AHA", read_at=0.0)
    views = seats.seat_views(compact_form(snap))
    assert [(v.id, v.status == seats.AVAILABLE) for v in views] == [
        (5, True),
        (6, False),
        (7, True),
    ]

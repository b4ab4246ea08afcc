"""The read model's pure parts: layouts, snapshots, the compact form and its decoding."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.domain.availability import (
    ZoneInfo,
    ZoneLayout,
    ZoneSnapshot,
    compact_form,
    decode_compact,
    expand_runs,
    pack_bits,
    runs,
    unpack_bits,
    verbose_seats,
)

ZONE = ZoneInfo(id=7, concert_id=1, code="M", grade="ECONOMY", price=50, rows=2, seats_per_row=3)


def layout() -> ZoneLayout:
    return ZoneLayout(
        zone=ZONE,
        seat_ids=(10, 11, 12, 20, 21, 23),
        rows=("a", "a", "a", "b", "b", "b"),
        numbers=(1, 2, 3, 1, 2, 4),
        prices=(50, 50, 60, 50, 50, 50),
    )


def test_a_snapshot_counts_what_is_left_and_lists_seats_in_layout_order() -> None:
    snap = ZoneSnapshot(layout(), version=3, statuses="AHARSA", read_at=0.0)
    assert snap.remaining == 3
    seats = verbose_seats(snap)
    assert [s["status"] for s in seats] == [
        "AVAILABLE",
        "HELD",
        "AVAILABLE",
        "RESERVED",
        "SOLD",
        "AVAILABLE",
    ]
    assert seats[3] == {
        "id": 20,
        "zone_code": "M",
        "row": "b",
        "number": 1,
        "price": 50,
        "status": "RESERVED",
    }
    assert [s["id"] for s in verbose_seats(snap, "B")] == [20, 21, 23]


def test_statuses_that_do_not_fit_the_layout_are_refused() -> None:
    with pytest.raises(ValueError, match="5 statuses for 6 seats"):
        ZoneSnapshot(layout(), version=1, statuses="AAAAA", read_at=0.0)


def test_the_compact_form_decodes_to_the_verbose_seats() -> None:
    snap = ZoneSnapshot(layout(), version=9, statuses="AHARSA", read_at=0.0)
    compact = compact_form(snap)
    assert compact["version"] == 9
    assert compact["rows"][0] == ["a", [10, 3], [1, 3], [50, 2, 60, 1]]
    assert compact["rows"][1] == ["b", [20, 2, 23, 1], [1, 2, 4, 1], [50, 3]]
    decoded = decode_compact(compact)
    for long, short in zip(verbose_seats(snap), decoded, strict=True):
        assert short["available"] == (long["status"] == "AVAILABLE")
        assert {k: long[k] for k in ("id", "row", "number", "price", "zone_code")} == {
            k: short[k] for k in ("id", "row", "number", "price", "zone_code")
        }
    assert [s["id"] for s in decode_compact(compact_form(snap, "b"))] == [20, 21, 23]


def test_a_compact_form_that_lies_about_its_size_is_refused() -> None:
    compact = compact_form(ZoneSnapshot(layout(), version=1, statuses="AAAAAA", read_at=0.0))
    with pytest.raises(ValueError, match="announced"):
        decode_compact({**compact, "seats": 7})


def test_a_seat_map_of_another_format_is_refused_naming_its_format() -> None:
    compact = compact_form(ZoneSnapshot(layout(), version=1, statuses="AAAAAA", read_at=0.0))
    with pytest.raises(ValueError, match=r"seat map: format 'other'$"):
        decode_compact({**compact, "format": "other"})


@given(st.lists(st.integers(min_value=0, max_value=50), max_size=40), st.sampled_from([0, 1]))
def test_runs_expand_back_to_their_values(values: list[int], step: int) -> None:
    assert expand_runs(runs(values, step), step) == values


@given(st.lists(st.booleans(), max_size=100))
def test_bits_unpack_to_the_flags_packed(flags: list[bool]) -> None:
    assert unpack_bits(pack_bits(flags), len(flags)) == flags


def test_the_bitmap_puts_the_first_seat_in_the_high_bit() -> None:
    assert pack_bits([True, False, False, False, False, False, False, False, True]) == "gIA="


def test_a_run_grows_by_its_own_length_not_the_first_runs() -> None:
    assert runs([0, 5, 6, 7], 1) == [0, 1, 5, 3]


def test_the_first_seat_is_the_high_bit_alone() -> None:
    assert unpack_bits("AQ==", 8) == [False] * 7 + [True]


def test_a_bitmap_too_short_for_its_seats_is_refused_counting_its_bits() -> None:
    with pytest.raises(ValueError, match=r"^bitmap has 8 bits for 9 seats$"):
        unpack_bits("AA==", 9)

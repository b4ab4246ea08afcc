"""The seed's venue layout: 43,000 seats in 26 zones, graded and priced."""

from __future__ import annotations

import pytest

from service.domain.venue import Grade, capacity, grade_of_zone, venue_layout


def test_the_full_venue_has_43000_seats_in_26_zones() -> None:
    layout = venue_layout()
    assert len(layout) == 26
    assert capacity(layout) == 43_000


@pytest.mark.parametrize(
    ("codes", "grade", "rows", "multiplier"),
    [
        ("ABCDEF", Grade.VIP, "abcdefghij", 3),
        ("GHIJKL", Grade.STANDARD, "abcdefghijklmno", 2),
        ("MNOPQRSTUVWXYZ", Grade.ECONOMY, "abcdefghijklmnopqrst", 1),
    ],
)
def test_each_grade_has_its_zones_rows_and_price(
    codes: str, grade: Grade, rows: str, multiplier: int
) -> None:
    zones = [z for z in venue_layout() if z.grade is grade]
    assert "".join(z.code for z in zones) == codes
    assert {"".join(z.rows) for z in zones} == {rows}
    assert {z.seats_per_row for z in zones} == {100}
    assert {z.price(50_000) for z in zones} == {50_000 * multiplier}


def test_a_shrunk_venue_keeps_the_shape() -> None:
    layout = venue_layout(zones=2, seats_per_row=10, max_rows=2)
    assert [(z.code, z.grade, z.rows) for z in layout] == [
        ("A", Grade.VIP, ("a", "b")),
        ("B", Grade.VIP, ("a", "b")),
    ]
    assert capacity(layout) == 40


@pytest.mark.parametrize("kwargs", [{"zones": 0}, {"zones": 27}, {"seats_per_row": 0}])
def test_an_impossible_venue_is_refused(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        venue_layout(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "seats"),
    [
        ({"zones": 1, "seats_per_row": 1, "max_rows": 1}, [("a", 1)]),
        ({"zones": 26, "seats_per_row": 2, "max_rows": 1}, [("a", 1), ("a", 2)]),
    ],
)
def test_the_smallest_venues_allowed_are_built(
    kwargs: dict[str, int], seats: list[tuple[str, int]]
) -> None:
    layout = venue_layout(**kwargs)

    assert len(layout) == kwargs["zones"]
    assert list(layout[0].seats()) == seats
    assert capacity(layout) == kwargs["zones"] * len(seats)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"zones": 0}, "zones must be between 1 and 26, got 0"),
        ({"seats_per_row": 0}, "seats_per_row must be positive, got 0"),
        ({"max_rows": 0}, "max_rows must be positive, got 0"),
    ],
)
def test_an_impossible_venue_names_the_bad_value(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{message}$"):
        venue_layout(**kwargs)


def test_zone_grades_change_at_the_seventh_and_thirteenth_zone() -> None:
    assert [grade_of_zone(i) for i in (0, 5, 6, 11, 12, 25)] == [
        Grade.VIP,
        Grade.VIP,
        Grade.STANDARD,
        Grade.STANDARD,
        Grade.ECONOMY,
        Grade.ECONOMY,
    ]

"""The venue: zones, rows and seats of a concert, and what each seat costs.

The seed project's arena: 26 zones of 100-seat rows. VIP zones A–F have rows a–j,
STANDARD G–L rows a–o, ECONOMY M–Z rows a–t; prices are 3×, 2× and 1× the concert's base
price. Smaller venues keep the same shape with fewer zones, rows or seats per row, so a
test or a smoke run gets the same kind of seat map in less time.
"""

from __future__ import annotations

import string
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum


class Grade(StrEnum):
    VIP = "VIP"
    STANDARD = "STANDARD"
    ECONOMY = "ECONOMY"


PRICE_MULTIPLIER = {Grade.VIP: 3, Grade.STANDARD: 2, Grade.ECONOMY: 1}
ROWS_BY_GRADE = {Grade.VIP: 10, Grade.STANDARD: 15, Grade.ECONOMY: 20}
DEFAULT_TICKET_LIMIT = 3


@dataclass(frozen=True)
class ZoneSpec:
    code: str
    grade: Grade
    rows: tuple[str, ...]
    seats_per_row: int

    def price(self, base_price: int) -> int:
        return base_price * PRICE_MULTIPLIER[self.grade]

    @property
    def capacity(self) -> int:
        return len(self.rows) * self.seats_per_row

    def seats(self) -> Iterator[tuple[str, int]]:
        for row in self.rows:
            for number in range(1, self.seats_per_row + 1):
                yield row, number


def grade_of_zone(index: int) -> Grade:
    if index < 6:
        return Grade.VIP
    if index < 12:
        return Grade.STANDARD
    return Grade.ECONOMY


def venue_layout(
    zones: int = 26, seats_per_row: int = 100, max_rows: int | None = None
) -> tuple[ZoneSpec, ...]:
    """The seed's layout (43,000 seats by default), optionally shrunk for small runs."""
    if not 1 <= zones <= 26:
        raise ValueError(f"zones must be between 1 and 26, got {zones}")
    if seats_per_row < 1:
        raise ValueError(f"seats_per_row must be positive, got {seats_per_row}")
    if max_rows is not None and max_rows < 1:
        raise ValueError(f"max_rows must be positive, got {max_rows}")
    layout = []
    for index in range(zones):
        grade = grade_of_zone(index)
        rows = ROWS_BY_GRADE[grade] if max_rows is None else min(max_rows, ROWS_BY_GRADE[grade])
        layout.append(
            ZoneSpec(
                code=string.ascii_uppercase[index],
                grade=grade,
                rows=tuple(string.ascii_lowercase[:rows]),
                seats_per_row=seats_per_row,
            )
        )
    return tuple(layout)


def capacity(layout: tuple[ZoneSpec, ...]) -> int:
    return sum(zone.capacity for zone in layout)

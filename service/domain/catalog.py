"""Read models of the seat map: what a buyer browses before holding seats."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Concert:
    id: int
    title: str
    venue: str
    starts_at: datetime
    base_price: int
    ticket_limit: int


@dataclass(frozen=True)
class Zone:
    code: str
    grade: str
    price: int
    rows: int
    seats_per_row: int
    capacity: int
    remaining: int


@dataclass(frozen=True)
class Seat:
    id: int
    zone_code: str
    row: str
    number: int
    price: int
    status: str

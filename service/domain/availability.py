"""The availability read model of one zone: its static layout and a versioned status string.

A zone's seats never move, so their layout (ids, rows, numbers, prices, in seat-map order)
is read once. What changes is each seat's status, kept as one character per seat in the
same order (``A`` available, ``H`` held, ``R`` reserved, ``S`` sold) under the zone's
*version*: a number that grows with every committed change to one of its seats (the
writers bump it in the same transaction, see ``adapters/zone_versions``). A snapshot is
therefore identified by (zone, version): two snapshots of one zone at the same version
hold the same statuses, which is what makes the version a strong ETag.

Two forms of the seat map come out of one snapshot and must agree seat by seat:
``verbose_seats`` (the JSON the API has always answered, one object per seat) and
``compact_form`` (the layout once, row by row as runs, and availability as a bitmap).
``decode_compact`` turns the compact form back into seats, for clients and tests.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from service.domain.catalog import Concert, Zone

STATUS_CODES = {"AVAILABLE": "A", "HELD": "H", "RESERVED": "R", "SOLD": "S"}
STATUS_NAMES = {code: name for name, code in STATUS_CODES.items()}
AVAILABLE_CODE = "A"
COMPACT_FORMAT = "ticketlab.seatmap.v1"


@dataclass(frozen=True)
class ZoneInfo:
    """A zone of a concert as stored: static once the concert is seeded."""

    id: int
    concert_id: int
    code: str
    grade: str
    price: int
    rows: int
    seats_per_row: int

    @property
    def capacity(self) -> int:
        return self.rows * self.seats_per_row


@dataclass(frozen=True)
class ZoneLayout:
    """Where each seat of a zone is, in seat-map order (row, number, id)."""

    zone: ZoneInfo
    seat_ids: tuple[int, ...]
    rows: tuple[str, ...]
    numbers: tuple[int, ...]
    prices: tuple[int, ...]

    def __post_init__(self) -> None:
        sizes = {len(self.seat_ids), len(self.rows), len(self.numbers), len(self.prices)}
        if len(sizes) != 1:
            raise ValueError(f"zone {self.zone.code}: layout columns differ in length {sizes}")

    def __len__(self) -> int:
        return len(self.seat_ids)


@dataclass(frozen=True)
class ZoneSnapshot:
    """A zone's statuses at one version; ``read_at`` is when the database showed them.

    ``encoded`` memoises the serialised forms (plain and gzipped), so a version is
    encoded and compressed once, whatever number of requests it then serves.
    """

    layout: ZoneLayout
    version: int
    statuses: str
    read_at: float
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.statuses) != len(self.layout):
            raise ValueError(
                f"zone {self.layout.zone.code}: {len(self.statuses)} statuses for"
                f" {len(self.layout)} seats (the layout changed?)"
            )

    @property
    def remaining(self) -> int:
        return self.statuses.count(AVAILABLE_CODE)


def seat_indexes(layout: ZoneLayout, row: str | None) -> range | list[int]:
    """Positions of the layout's seats in ``row`` (all of them without a row)."""
    if row is None:
        return range(len(layout))
    wanted = row.casefold()
    return [i for i, label in enumerate(layout.rows) if label.casefold() == wanted]


def verbose_seats(snapshot: ZoneSnapshot, row: str | None = None) -> list[dict[str, Any]]:
    """One object per seat, as ``GET …/seats`` has always answered."""
    layout, statuses = snapshot.layout, snapshot.statuses
    code = layout.zone.code
    return [
        {
            "id": layout.seat_ids[i],
            "zone_code": code,
            "row": layout.rows[i],
            "number": layout.numbers[i],
            "price": layout.prices[i],
            "status": STATUS_NAMES[statuses[i]],
        }
        for i in seat_indexes(layout, row)
    ]


def runs(values: Sequence[int], step: int) -> list[int]:
    """``values`` as flat ``[start, length, …]`` runs of consecutive ``start + k*step``."""
    out: list[int] = []
    for value in values:
        if out and value == out[-2] + out[-1] * step:
            out[-1] += 1
        else:
            out += [value, 1]
    return out


def expand_runs(flat: Sequence[int], step: int) -> list[int]:
    if len(flat) % 2:
        raise ValueError("runs come in (start, length) pairs")
    return [flat[i] + k * step for i in range(0, len(flat), 2) for k in range(flat[i + 1])]


def pack_bits(flags: Iterator[bool] | Sequence[bool]) -> str:
    """Flags as base64 bits, most significant bit first, the last byte padded with 0s."""
    out = bytearray()
    byte = bits = 0
    for flag in flags:
        byte = (byte << 1) | int(flag)
        bits += 1
        if bits == 8:
            out.append(byte)
            byte = bits = 0
    if bits:
        out.append(byte << (8 - bits))
    return base64.b64encode(bytes(out)).decode("ascii")


def unpack_bits(text: str, count: int) -> list[bool]:
    data = base64.b64decode(text)
    if len(data) * 8 < count:
        raise ValueError(f"bitmap has {len(data) * 8} bits for {count} seats")
    return [bool(data[i >> 3] & (0x80 >> (i & 7))) for i in range(count)]


def compact_form(snapshot: ZoneSnapshot, row: str | None = None) -> dict[str, Any]:
    """The layout once and availability as a bitmap: a few KB where the verbose form is ~200.

    ``rows`` is a list of ``[label, id_runs, number_runs, price_runs]``: ids and numbers as
    ``[start, length, …]`` runs of consecutive values, prices as ``[price, length, …]``.
    ``available`` has one bit per seat in that order (1 = AVAILABLE). Held, reserved and
    sold are all "not available": a buyer cannot tell them apart on a seat map either.
    """
    layout = snapshot.layout
    indexes = list(seat_indexes(layout, row))
    rows: list[list[Any]] = []
    for i in indexes:
        if not rows or rows[-1][0] != layout.rows[i]:
            rows.append([layout.rows[i], [], [], []])
        rows[-1][1].append(layout.seat_ids[i])
        rows[-1][2].append(layout.numbers[i])
        rows[-1][3].append(layout.prices[i])
    return {
        "format": COMPACT_FORMAT,
        "zone_code": layout.zone.code,
        "version": snapshot.version,
        "seats": len(indexes),
        "rows": [
            [label, runs(ids, 1), runs(nums, 1), runs(prices, 0)]
            for label, ids, nums, prices in rows
        ],
        "available": pack_bits(snapshot.statuses[i] == AVAILABLE_CODE for i in indexes),
    }


def decode_compact(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The compact form back as seats (``id``, ``zone_code``, ``row``, ``number``, ``price``,
    ``available``), in seat-map order."""
    if body.get("format") != COMPACT_FORMAT:
        raise ValueError(f"not a {COMPACT_FORMAT} seat map: format {body.get('format')!r}")
    seats: list[dict[str, Any]] = []
    for label, id_runs, number_runs, price_runs in body["rows"]:
        ids = expand_runs(id_runs, 1)
        numbers = expand_runs(number_runs, 1)
        prices = expand_runs(price_runs, 0)
        if not len(ids) == len(numbers) == len(prices):
            raise ValueError(f"row {label}: runs of different lengths")
        seats += [
            {"id": i, "zone_code": body["zone_code"], "row": label, "number": n, "price": p}
            for i, n, p in zip(ids, numbers, prices, strict=True)
        ]
    if len(seats) != body["seats"]:
        raise ValueError(f"{len(seats)} seats in the rows, {body['seats']} announced")
    for seat, free in zip(seats, unpack_bits(body["available"], len(seats)), strict=True):
        seat["available"] = free
    return seats


@dataclass(frozen=True)
class Freshness:
    """Where a read came from and how old it may be: what the lab counts stale reads by.

    ``source`` is ``cache`` (a worker's read model), ``primary`` or ``replica`` (the
    database, read for this request); ``age_ms`` is how long ago the data was known to be
    current; ``version`` the zone's version where there is one.
    """

    source: str
    version: int | None
    age_ms: int


@dataclass(frozen=True)
class SeatMapRead:
    """A zone's snapshot and how fresh it is; ``etag_base`` is None where the source has
    no version to name it by."""

    snapshot: ZoneSnapshot
    freshness: Freshness
    etag_base: str | None


@dataclass(frozen=True)
class ZonesRead:
    """A concert's zones with what is left in each, how fresh, and a cache of their JSON."""

    zones: list[Zone]
    freshness: Freshness
    etag_base: str | None
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ConcertsRead:
    """The concerts on sale, how fresh, and a cache of their JSON (named by its content)."""

    concerts: list[Concert]
    freshness: Freshness
    etag_base: str | None
    encoded: dict[str, bytes] = field(default_factory=dict, compare=False, repr=False)

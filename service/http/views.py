"""Booking views: parse the request, call one use case, shape the answer.

Domain errors propagate to ``problem_middleware``; nothing here catches them.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial

from aiohttp import web

from service.bootstrap import DEPS
from service.domain.availability import ZoneSnapshot, compact_form, verbose_seats
from service.domain.catalog import Concert
from service.http.auth import current_member
from service.http.parsing import (
    int_list,
    optional_query,
    path_id,
    read_json_object,
    reject_unknown_fields,
)
from service.http.revalidation import (
    COMPACT,
    COMPACT_MEDIA_TYPE,
    cached_json_response,
    seat_map_form,
)
from service.http.serialize import encode_default, json_response
from service.usecases import catalog
from service.usecases import holds as hold_cases

MAX_ROW_LEN = 4


async def list_concerts(request: web.Request) -> web.Response:
    read = await catalog.read_concerts(request.app[DEPS].availability)
    return cached_json_response(
        request,
        etag_base=read.etag_base,
        key="concerts",
        cache=read.encoded,
        build=lambda: {"concerts": [encode_concert(c) for c in read.concerts]},
        freshness=read.freshness,
    )


def encode_concert(concert: Concert) -> dict[str, object]:
    return {
        k: encode_default(v) if isinstance(v, datetime) else v for k, v in concert.__dict__.items()
    }


async def get_concert(request: web.Request) -> web.Response:
    concert_id = path_id(request, "concert_id", "concert")
    return json_response(await catalog.get_concert(request.app[DEPS].catalog, concert_id))


async def list_zones(request: web.Request) -> web.Response:
    """From the read model: ETag per combination of zone versions, 304, gzip, freshness."""
    concert_id = path_id(request, "concert_id", "concert")
    deps = request.app[DEPS]
    read = await catalog.read_zones(deps.availability, deps.catalog, concert_id)
    return cached_json_response(
        request,
        etag_base=read.etag_base,
        key="zones",
        cache=read.encoded,
        build=lambda: {"zones": [zone.__dict__ for zone in read.zones]},
        freshness=read.freshness,
    )


async def list_seats(request: web.Request) -> web.Response:
    """The seat map, verbose (one object per seat) or compact (layout once + a bitmap)."""
    concert_id = path_id(request, "concert_id", "concert")
    zone = request.match_info["zone"]
    row = optional_query(request, "row", max_len=MAX_ROW_LEN)
    form = seat_map_form(request)
    deps = request.app[DEPS]
    read = await catalog.read_seat_map(deps.availability, deps.catalog, concert_id, zone)
    snapshot = read.snapshot
    compact = form == COMPACT
    return cached_json_response(
        request,
        etag_base=read.etag_base,
        key=form if row is None else f"{form}-row-{row.casefold()}",
        cache=snapshot.encoded if row is None else None,
        build=partial(compact_form if compact else verbose_seat_map, snapshot, row),
        freshness=read.freshness,
        content_type=COMPACT_MEDIA_TYPE if compact else "application/json",
    )


def verbose_seat_map(snapshot: ZoneSnapshot, row: str | None) -> dict[str, object]:
    return {"seats": verbose_seats(snapshot, row)}


async def create_hold(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    concert_id = path_id(request, "concert_id", "concert")
    deps = request.app[DEPS].booking
    body = await read_json_object(request)
    reject_unknown_fields(body, {"seat_ids"})
    seat_ids = int_list(body, "seat_ids", max_items=deps.rules.max_seats, unique=True)
    hold = await hold_cases.place_hold(deps, member_id, concert_id, seat_ids)
    return json_response(hold, status=201, headers={"Location": f"/api/v1/holds/{hold.id}"})


async def get_hold(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    hold_id = path_id(request, "hold_id", "hold")
    return json_response(await hold_cases.get_hold(request.app[DEPS].booking, member_id, hold_id))


async def delete_hold(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    hold_id = path_id(request, "hold_id", "hold")
    return json_response(
        await hold_cases.release_hold(request.app[DEPS].booking, member_id, hold_id)
    )


async def create_reservation(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    hold_id = path_id(request, "hold_id", "hold")
    reservation = await hold_cases.reserve_hold(request.app[DEPS].booking, member_id, hold_id)
    return json_response(reservation, status=201)


async def my_reservations(request: web.Request) -> web.Response:
    member_id = await current_member(request)
    reservations = await hold_cases.list_reservations(request.app[DEPS].booking, member_id)
    return json_response({"reservations": reservations})

"""Booking views: parse the request, call one use case, shape the answer.

Domain errors propagate to ``problem_middleware``; nothing here catches them.
"""

from __future__ import annotations

from aiohttp import web

from service.bootstrap import DEPS
from service.http.auth import current_member
from service.http.parsing import (
    int_list,
    optional_query,
    path_id,
    read_json_object,
    reject_unknown_fields,
)
from service.http.reads import read_headers, reader
from service.http.serialize import json_response
from service.usecases import catalog, reads
from service.usecases import holds as hold_cases

MAX_ROW_LEN = 4


async def list_concerts(request: web.Request) -> web.Response:
    read = await reader(request)
    concerts = await catalog.list_concerts(read.stores.catalog)
    return json_response({"concerts": concerts}, headers=read_headers(read.freshness))


async def get_concert(request: web.Request) -> web.Response:
    concert_id = path_id(request, "concert_id", "concert")
    read = await reader(request)
    concert = await catalog.get_concert(read.stores.catalog, concert_id)
    return json_response(concert, headers=read_headers(read.freshness))


async def list_zones(request: web.Request) -> web.Response:
    concert_id = path_id(request, "concert_id", "concert")
    read = await reader(request)
    zones = await catalog.list_zones(read.stores.catalog, concert_id)
    return json_response({"zones": zones}, headers=read_headers(read.freshness))


async def list_seats(request: web.Request) -> web.Response:
    concert_id = path_id(request, "concert_id", "concert")
    zone = request.match_info["zone"]
    row = optional_query(request, "row", max_len=MAX_ROW_LEN)
    read = await reader(request)
    seats = await catalog.list_seats(read.stores.catalog, concert_id, zone, row)
    return json_response({"seats": seats}, headers=read_headers(read.freshness))


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
    read = await reader(request, member_id)
    reservations = await reads.my_reservations(read, member_id)
    return json_response({"reservations": reservations}, headers=read_headers(read.freshness))

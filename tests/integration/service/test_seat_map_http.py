"""The seat map and zones over HTTP: ETag and 304, gzip once per version, the compact form,
and the freshness headers the lab counts stale reads by."""

from __future__ import annotations

import dataclasses
import gzip
import json
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest

from service.adapters.db import Database
from service.config import Settings
from service.domain.availability import decode_compact
from service.http.revalidation import COMPACT_MEDIA_TYPE
from tests.support.holds import SeatPool, make_hold, utcnow
from tests.support.http import call
from tests.support.servers import serving
from tests.support.waiting import wait_until

RAW = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
async def base_url(settings: Settings, concert_id: int) -> AsyncIterator[str]:
    async with serving(dataclasses.replace(settings, read_model_max_age_ms=0)) as service:
        yield service.url


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


@pytest.fixture(scope="module")
async def pool(db: Database, concert_id: int) -> SeatPool:
    return await SeatPool.of(db, concert_id)


def seats_url(base_url: str, concert_id: int, zone: str = "A") -> str:
    return f"{base_url}/api/v1/concerts/{concert_id}/zones/{zone}/seats"


async def test_a_seat_map_names_its_version_and_answers_304_until_it_changes(
    http: aiohttp.ClientSession, base_url: str, concert_id: int, db: Database, pool: SeatPool
) -> None:
    url = seats_url(base_url, concert_id)
    first = await call(http, "GET", url, headers=RAW)
    assert first.status == 200
    etag = first.response.headers["ETag"]
    assert first.response.headers["Cache-Control"] == "no-cache"
    assert first.response.headers["X-Read-Source"] == "cache"
    version = int(first.response.headers["X-Read-Version"])
    assert int(first.response.headers["X-Read-Age-Ms"]) >= 0

    again = await call(http, "GET", url, headers={**RAW, "If-None-Match": etag})
    assert (again.status, again.body) == (304, None)
    assert again.response.headers["ETag"] == etag

    seat = next(s for s in pool.take(1) if s.zone_code == "A")
    await make_hold(db, concert_id, [seat], utcnow() + timedelta(minutes=10))
    changed = await call(http, "GET", url, headers={**RAW, "If-None-Match": etag})
    assert changed.status == 200
    assert int(changed.response.headers["X-Read-Version"]) > version
    assert changed.response.headers["ETag"] != etag
    held = {s["id"]: s["status"] for s in changed.body["seats"]}
    assert held[seat.id] == "HELD"


async def test_gzip_is_served_to_clients_that_accept_it_and_decodes_to_the_same_seats(
    http: aiohttp.ClientSession, base_url: str, concert_id: int
) -> None:
    url = seats_url(base_url, concert_id, "B")
    plain = await call(http, "GET", url, headers=RAW)
    async with http.get(url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["Content-Encoding"] == "gzip"
        squeezed = await response.read()
        etag = response.headers["ETag"]
    assert json.loads(gzip.decompress(squeezed)) == plain.body
    assert len(squeezed) < len(json.dumps(plain.body)) / 3
    revalidated = await call(
        http, "GET", url, headers={"Accept-Encoding": "gzip", "If-None-Match": etag}
    )
    assert revalidated.status == 304


async def test_the_compact_form_is_chosen_by_query_or_accept_and_matches_the_verbose_one(
    http: aiohttp.ClientSession, base_url: str, concert_id: int
) -> None:
    url = seats_url(base_url, concert_id)
    verbose = (await call(http, "GET", url, headers=RAW)).body["seats"]
    by_query = await call(http, "GET", url + "?form=compact", headers=RAW)
    by_accept = await call(http, "GET", url, headers={**RAW, "Accept": COMPACT_MEDIA_TYPE})
    assert by_query.body == by_accept.body
    assert by_query.response.content_type == COMPACT_MEDIA_TYPE
    compact = decode_compact(by_query.body)
    assert [(s["id"], s["row"], s["number"], s["price"]) for s in compact] == [
        (s["id"], s["row"], s["number"], s["price"]) for s in verbose
    ]
    assert [s["available"] for s in compact] == [s["status"] == "AVAILABLE" for s in verbose]
    bad = await call(http, "GET", url + "?form=tiny", headers=RAW)
    assert bad.status == 422
    assert "form" in bad.body["detail"]


async def test_zones_count_what_is_left_from_the_read_model_and_revalidate(
    http: aiohttp.ClientSession, base_url: str, concert_id: int, db: Database, pool: SeatPool
) -> None:
    url = f"{base_url}/api/v1/concerts/{concert_id}/zones"
    first = await call(http, "GET", url, headers=RAW)
    left = {z["code"]: z["remaining"] for z in first.body["zones"]}
    assert (
        await call(http, "GET", url, headers={"If-None-Match": first.response.headers["ETag"]})
    ).status == 304
    seat = pool.take(1)[0]
    await make_hold(db, concert_id, [seat], utcnow() + timedelta(minutes=10))

    async def counted() -> bool:
        now = await call(http, "GET", url, headers=RAW)
        return {z["code"]: z["remaining"] for z in now.body["zones"]} == {
            **left,
            seat.zone_code: left[seat.zone_code] - 1,
        }

    await wait_until(counted, within=5, what="the zone count to drop by one")
    missing = await call(http, "GET", f"{base_url}/api/v1/concerts/999999999/zones", headers=RAW)
    assert missing.status == 404


async def test_concerts_say_how_fresh_they_are_and_revalidate(
    http: aiohttp.ClientSession, base_url: str, concert_id: int
) -> None:
    url = f"{base_url}/api/v1/concerts"
    first = await call(http, "GET", url, headers=RAW)
    assert [c["id"] for c in first.body["concerts"]] == [concert_id]
    assert first.body["concerts"][0]["starts_at"].endswith("Z")
    assert first.response.headers["X-Read-Source"] == "cache"
    etag = first.response.headers["ETag"]
    assert (await call(http, "GET", url, headers={"If-None-Match": etag})).status == 304


async def test_with_the_read_model_off_reads_come_from_the_database(
    settings: Settings, concert_id: int, http: aiohttp.ClientSession, base_url: str
) -> None:
    cached = await call(http, "GET", seats_url(base_url, concert_id, "B"), headers=RAW)
    async with serving(dataclasses.replace(settings, read_model=False)) as direct:
        answer = await call(http, "GET", seats_url(direct.url, concert_id, "B"), headers=RAW)
        zones = await call(
            http, "GET", f"{direct.url}/api/v1/concerts/{concert_id}/zones", headers=RAW
        )
    assert answer.response.headers["X-Read-Source"] == "primary"
    assert answer.response.headers["X-Read-Age-Ms"] == "0"
    assert answer.body == cached.body
    assert zones.response.headers["X-Read-Source"] == "primary"

"""The HTTP API through a real server: shapes of answers, and bad input always a 4xx."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from service.http.problems import PROBLEM_JSON
from tests.support.http import call
from tests.support.signin import bearer, browser, sign_in


@pytest.fixture(scope="module")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with browser() as session:
        yield session


@pytest.fixture
async def alice(http: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    """A new member for each test, so one test's holds never count against another's limit."""
    return await sign_in(http, base_url, f"alice-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture
async def bob(http: aiohttp.ClientSession, base_url: str) -> dict[str, Any]:
    return await sign_in(http, base_url, f"bob-{uuid.uuid4().hex[:8]}@example.com")


@pytest.fixture(scope="module")
async def seat_ids(http: aiohttp.ClientSession, base_url: str, concert_id: int) -> list[int]:
    async with http.get(f"{base_url}/api/v1/concerts/{concert_id}/zones/A/seats") as response:
        assert response.status == 200
        return [seat["id"] for seat in (await response.json())["seats"]]


async def test_readiness_reports_every_server(http: aiohttp.ClientSession, base_url: str) -> None:
    status, body, _ = await call(http, "GET", f"{base_url}/readyz")
    assert status == 200
    assert body["checks"] == {"mariadb": "ok", "redis": "ok", "rabbitmq": "ok"}


async def test_zones_report_remaining_seats(
    http: aiohttp.ClientSession, base_url: str, concert_id: int
) -> None:
    status, body, _ = await call(http, "GET", f"{base_url}/api/v1/concerts/{concert_id}/zones")
    assert status == 200
    assert [zone["code"] for zone in body["zones"]] == ["A", "B"]


async def test_a_hold_is_created_with_a_server_computed_amount(
    http: aiohttp.ClientSession, base_url: str, concert_id: int, alice: dict, seat_ids: list[int]
) -> None:
    status, hold, _ = await call(
        http,
        "POST",
        f"{base_url}/api/v1/concerts/{concert_id}/holds",
        json={"seat_ids": seat_ids[:2]},
        headers=bearer(alice),
    )
    assert status == 201, hold
    assert sorted(seat["id"] for seat in hold["seats"]) == seat_ids[:2]
    assert hold["amount"] == sum(seat["price"] for seat in hold["seats"]) > 0
    assert hold["expires_at"].endswith("Z")


async def test_taken_seats_are_a_409_naming_them(
    http: aiohttp.ClientSession,
    base_url: str,
    concert_id: int,
    alice: dict,
    bob: dict,
    seat_ids: list[int],
) -> None:
    url = f"{base_url}/api/v1/concerts/{concert_id}/holds"
    status, _, _ = await call(
        http, "POST", url, json={"seat_ids": [seat_ids[5]]}, headers=bearer(alice)
    )
    assert status == 201
    status, problem, response = await call(
        http, "POST", url, json={"seat_ids": [seat_ids[5], seat_ids[6]]}, headers=bearer(bob)
    )
    assert (status, response.content_type) == (409, PROBLEM_JSON)
    assert problem["seat_ids"] == [seat_ids[5]]


async def test_another_members_hold_is_not_found(
    http: aiohttp.ClientSession,
    base_url: str,
    concert_id: int,
    alice: dict,
    bob: dict,
    seat_ids: list[int],
) -> None:
    url = f"{base_url}/api/v1/concerts/{concert_id}/holds"
    _, hold, _ = await call(
        http, "POST", url, json={"seat_ids": [seat_ids[9]]}, headers=bearer(alice)
    )
    status, _, _ = await call(
        http, "GET", f"{base_url}/api/v1/holds/{hold['id']}", headers=bearer(bob)
    )
    assert status == 404
    status, _, _ = await call(
        http, "POST", f"{base_url}/api/v1/holds/{hold['id']}/reservation", headers=bearer(bob)
    )
    assert status == 404
    status, _, _ = await call(
        http, "DELETE", f"{base_url}/api/v1/holds/{hold['id']}", headers=bearer(bob)
    )
    assert status == 404


async def test_a_reservation_is_listed_only_for_its_member(
    http: aiohttp.ClientSession,
    base_url: str,
    concert_id: int,
    alice: dict,
    bob: dict,
    seat_ids: list[int],
) -> None:
    url = f"{base_url}/api/v1/concerts/{concert_id}/holds"
    _, hold, _ = await call(
        http, "POST", url, json={"seat_ids": [seat_ids[3]]}, headers=bearer(bob)
    )
    status, reservation, _ = await call(
        http, "POST", f"{base_url}/api/v1/holds/{hold['id']}/reservation", headers=bearer(bob)
    )
    assert status == 201
    assert reservation["status"] == "AWAITING_PAYMENT"
    assert reservation["amount"] == hold["amount"]
    _, mine, _ = await call(http, "GET", f"{base_url}/api/v1/me/reservations", headers=bearer(bob))
    _, theirs, _ = await call(
        http, "GET", f"{base_url}/api/v1/me/reservations", headers=bearer(alice)
    )
    assert reservation["order_id"] in [r["order_id"] for r in mine["reservations"]]
    assert reservation["order_id"] not in [r["order_id"] for r in theirs["reservations"]]


async def test_the_request_id_is_echoed_or_generated(
    http: aiohttp.ClientSession, base_url: str
) -> None:
    async with http.get(f"{base_url}/healthz", headers={"X-Request-Id": "abc-123"}) as response:
        assert response.headers["X-Request-Id"] == "abc-123"
    async with http.get(f"{base_url}/healthz") as response:
        assert len(response.headers["X-Request-Id"]) == 32


async def test_metrics_count_requests_by_route_and_holds_by_strategy(
    http: aiohttp.ClientSession, base_url: str, alice: dict, seat_ids: list[int], concert_id: int
) -> None:
    await call(
        http,
        "POST",
        f"{base_url}/api/v1/concerts/{concert_id}/holds",
        json={"seat_ids": [seat_ids[0]]},
        headers=bearer(alice),
    )
    async with http.get(f"{base_url}/metrics") as response:
        text = await response.text()
    assert 'route="/api/v1/concerts/{concert_id}/holds"' in text
    assert 'ticketlab_holds_refused_total{reason="seats-taken",strategy="conditional"}' in text
    assert "ticketlab_db_pool_max" in text


BAD_REQUESTS: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    ("not JSON", "POST", "holds", {"data": "{seat_ids: [1]"}, 400, "malformed-json"),
    ("empty body", "POST", "holds", {"data": ""}, 400, "malformed-json"),
    ("a JSON array", "POST", "holds", {"json": [1, 2]}, 400, "malformed-json"),
    ("invalid UTF-8", "POST", "holds", {"data": b"\xff\xfe"}, 400, "malformed-json"),
    # json.loads raises RecursionError and ValueError here, not JSONDecodeError: once 500s.
    ("deeply nested arrays", "POST", "holds", {"data": b"[" * 20_000}, 400, "malformed-json"),
    (
        "a 5000-digit number",
        "POST",
        "holds",
        {"data": b'{"seat_ids": [' + b"1" * 5000 + b"]}"},
        400,
        "malformed-json",
    ),
    ("NaN, not JSON", "POST", "holds", {"data": b'{"seat_ids": [NaN]}'}, 400, "malformed-json"),
    ("no seat_ids", "POST", "holds", {"json": {}}, 422, "invalid-request"),
    ("seat_ids a string", "POST", "holds", {"json": {"seat_ids": "1,2"}}, 422, "invalid-request"),
    ("a float seat id", "POST", "holds", {"json": {"seat_ids": [1.5]}}, 422, "invalid-request"),
    ("a boolean seat id", "POST", "holds", {"json": {"seat_ids": [True]}}, 422, "invalid-request"),
    ("no seats", "POST", "holds", {"json": {"seat_ids": []}}, 422, "invalid-request"),
    ("a duplicate seat", "POST", "holds", {"json": {"seat_ids": [7, 7]}}, 422, "invalid-request"),
    ("a negative id", "POST", "holds", {"json": {"seat_ids": [-3]}}, 422, "invalid-request"),
    ("a huge id", "POST", "holds", {"json": {"seat_ids": [2**70]}}, 422, "invalid-request"),
    (
        "too many seats",
        "POST",
        "holds",
        {"json": {"seat_ids": list(range(1, 12))}},
        422,
        "invalid-request",
    ),
    (
        "a client member id",
        "POST",
        "holds",
        {"json": {"seat_ids": [1], "member_id": 7}},
        422,
        "invalid-request",
    ),
    ("unknown seats", "POST", "holds", {"json": {"seat_ids": [987654321]}}, 404, "not-found"),
    ("an oversized body", "POST", "holds", {"data": b"x" * 70_000}, 413, "body-too-large"),
    (
        "unknown concert",
        "POST",
        "/api/v1/concerts/99999999/holds",
        {"json": {"seat_ids": [1]}},
        404,
        "not-found",
    ),
    ("unknown hold", "GET", "/api/v1/holds/99999999", {}, 404, "not-found"),
    ("a non-numeric hold id", "GET", "/api/v1/holds/abc", {}, 404, "http-404"),
    ("a 20-digit hold id", "GET", "/api/v1/holds/99999999999999999999", {}, 404, "http-404"),
    ("releasing an unknown hold", "DELETE", "/api/v1/holds/99999999", {}, 404, "not-found"),
    ("an unknown zone", "GET", "zones/ZZ/seats", {}, 404, "not-found"),
    ("an injected row", "GET", "zones/A/seats?row=a%27%3B--", {}, 422, "invalid-request"),
    ("a wrong method", "DELETE", "/api/v1/concerts", {}, 405, "http-405"),
    ("refresh without JSON", "POST", "/auth/refresh", {"data": "nope"}, 400, ""),
    ("callback without code", "GET", "/auth/callback?state=x", {}, 400, ""),
]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [case[1:] for case in BAD_REQUESTS],
    ids=[case[0] for case in BAD_REQUESTS],
)
async def test_bad_requests_get_a_4xx_problem(
    http: aiohttp.ClientSession,
    base_url: str,
    concert_id: int,
    alice: dict,
    method: str,
    path: str,
    kwargs: dict[str, Any],
    status: int,
    code: str,
) -> None:
    if path == "holds":
        path = f"/api/v1/concerts/{concert_id}/holds"
    elif path.startswith("zones/"):
        path = f"/api/v1/concerts/{concert_id}/{path}"
    got, body, response = await call(http, method, base_url + path, headers=bearer(alice), **kwargs)
    assert got == status, body
    assert response.content_type == PROBLEM_JSON
    assert body["status"] == status
    assert body["title"]
    if code:
        assert body["type"].endswith("/" + code)


async def test_a_nul_byte_in_a_header_is_a_problem_400_without_a_traceback(
    base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = base_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Note: a\x00b\r\n\r\n")
    await writer.drain()
    answer = await reader.read()  # the server closes the connection after refusing
    writer.close()
    await writer.wait_closed()
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400"
    assert f"Content-Type: {PROBLEM_JSON}".encode() in head  # not aiohttp's text/plain
    assert json.loads(body)["type"].endswith("/malformed-request")
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_seats_of_a_zone_asked_in_lower_case_name_it_in_upper_case(
    http: aiohttp.ClientSession, base_url: str, concert_id: int
) -> None:
    url = f"{base_url}/api/v1/concerts/{concert_id}/zones/a/seats"
    status, body, _ = await call(http, "GET", url)
    assert status == 200
    assert {seat["zone_code"] for seat in body["seats"]} == {"A"}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not-a-jwt", "Basic dXNlcjpwYXNz", "bearer " + "a.b.c"],
)
async def test_holds_need_a_valid_bearer_token(
    http: aiohttp.ClientSession, base_url: str, concert_id: int, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    status, body, response = await call(
        http,
        "POST",
        f"{base_url}/api/v1/concerts/{concert_id}/holds",
        json={"seat_ids": [1]},
        headers=headers,
    )
    assert (status, response.content_type) == (401, PROBLEM_JSON)
    assert body["status"] == 401

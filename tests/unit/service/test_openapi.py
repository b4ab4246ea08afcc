"""The OpenAPI document covers every route the app serves, and is a valid document."""

from __future__ import annotations

from aiohttp import web
from openapi_spec_validator import validate

from service.http.openapi import document
from service.http.rate_limits import RULES
from service.http.routes import setup_routes


def test_openapi_documents_every_route() -> None:
    app = web.Application()
    setup_routes(app)
    routed = {
        (route.method.lower(), route.resource.canonical.replace(r":\d{1,19}", ""))
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    routed = {(m, p.replace(":[A-Za-z]{1,8}", "")) for m, p in routed}
    documented = {(m, p) for p, item in document(10)["paths"].items() for m in item}
    assert routed == documented


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(document(10))


def test_the_hold_body_allows_the_settings_seats_per_hold() -> None:
    hold = document(4)["paths"]["/api/v1/concerts/{concert_id}/holds"]["post"]
    seat_ids = hold["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert seat_ids["seat_ids"]["maxItems"] == 4
    assert seat_ids["seat_ids"]["uniqueItems"] is True


def test_every_secured_operation_documents_401_and_every_body_413() -> None:
    for item in document(10)["paths"].values():
        for operation in item.values():
            if "security" in operation:
                assert "401" in operation["responses"], operation["summary"]
            if "requestBody" in operation:
                assert "413" in operation["responses"], operation["summary"]


def test_every_rate_limited_route_documents_its_429() -> None:
    paths = document(10)["paths"]
    for method, path in RULES:
        assert "429" in paths[path][method.lower()]["responses"], (method, path)

"""The OpenAPI document covers every route the app serves."""

from __future__ import annotations

from service.http.openapi import DOCUMENT


def test_openapi_documents_every_route() -> None:
    from aiohttp import web

    from service.http.routes import setup_routes

    app = web.Application()
    setup_routes(app)
    routed = {
        (route.method.lower(), route.resource.canonical.replace(r":\d{1,19}", ""))
        for route in app.router.routes()
        if route.method != "HEAD"
    }
    routed = {(m, p.replace(":[A-Za-z]{1,8}", "")) for m, p in routed}
    documented = {(m, p) for p, item in DOCUMENT["paths"].items() for m in item}
    assert routed <= documented

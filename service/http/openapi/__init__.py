"""The OpenAPI 3.1 document served at /openapi.json: the contract clients are held to.

Written by hand beside the routes it describes. It names every input a route reads (path,
query, headers, body) with the limits the parsers enforce — the limits are imported from
the parsers, so the two cannot drift — and every status a route answers, with its content
type. ``tests/unit/service/test_openapi.py`` checks that every route is documented and the
document valid; ``tests/integration/service/test_api_contract.py`` runs schemathesis
against a real server, which must find nothing.

Statuses every route may send are listed once: 400 for a request aiohttp cannot parse
(a NUL byte in a header, an overlong line), 503 with ``Retry-After`` where a route needs
MariaDB or Redis and they are overloaded or away.

``parts`` holds the building blocks (shared responses, ``operation``), ``schemas`` what
bodies hold, ``paths`` the routes; this module assembles the document and serves it.
"""

from __future__ import annotations

import functools
from typing import Any

from aiohttp import web

from service.bootstrap import SETTINGS
from service.http.openapi.parts import MEMBER_TAG, PUBLIC_TAG, problem
from service.http.openapi.paths import paths
from service.http.openapi.schemas import SCHEMAS

__all__ = ["MEMBER_TAG", "PUBLIC_TAG", "document", "openapi_view"]


@functools.cache
def document(max_seats_per_hold: int) -> dict[str, Any]:
    """The document for a service allowing ``max_seats_per_hold`` seats in one hold."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "ticketlab booking service", "version": "1"},
        "paths": paths(max_seats_per_hold),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "responses": {"Problem": problem("RFC 9457 problem details")},
            "schemas": SCHEMAS,
        },
    }


async def openapi_view(request: web.Request) -> web.Response:
    return web.json_response(document(request.app[SETTINGS].max_seats_per_hold))

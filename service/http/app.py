"""The app factory: one function builds the service for ``python -m service`` and for tests.

What the service is made of, and in which order it opens, is ``service.bootstrap``'s;
this module only adds the middlewares and the routes.
"""

from __future__ import annotations

from aiohttp import web

from service import bootstrap
from service.config import Settings
from service.http.defects import defect_middlewares
from service.http.malformed import install as answer_malformed_requests
from service.http.problems import problem_middleware
from service.http.rate_limits import rate_limit_middleware
from service.http.routes import setup_routes
from service.http.telemetry import telemetry_middleware


def init_app(settings: Settings) -> web.Application:
    answer_malformed_requests()
    app = web.Application(
        middlewares=[
            telemetry_middleware,
            problem_middleware,
            *defect_middlewares(settings),
            rate_limit_middleware,
        ],
        client_max_size=settings.max_body_bytes,
    )
    bootstrap.install(app, settings)
    setup_routes(app)
    return app

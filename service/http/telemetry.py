"""Request ids, request metrics, the /metrics page and the event-loop lag probe.

The request id (``X-Request-Id``, generated when absent) is set in a context variable so
every log line of the request carries it, and echoed back so a client can quote it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import time
import uuid
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from service import metrics
from service.http.keys import DB
from service.http.problems import Handler
from service.request_id import request_id_var

REQUEST_ID_HEADER = "X-Request-Id"
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SAMPLE_INTERVAL_S = 0.5


def incoming_request_id(request: web.Request) -> str:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    return given if VALID_REQUEST_ID.match(given) else uuid.uuid4().hex


def route_label(request: web.Request) -> str:
    route = request.match_info.route
    resource = route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def telemetry_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request_id = incoming_request_id(request)
    token = request_id_var.set(request_id)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id
        return response
    except web.HTTPException as exc:
        status = exc.status
        exc.headers[REQUEST_ID_HEADER] = request_id
        raise
    finally:
        route = route_label(request)
        metrics.http_requests.labels(request.method, route, str(status)).inc()
        metrics.http_latency.labels(request.method, route).observe(time.perf_counter() - started)
        request_id_var.reset(token)


def registry() -> CollectorRegistry:
    if "PROMETHEUS_MULTIPROC_DIR" in os.environ:
        collected = CollectorRegistry()
        multiprocess.MultiProcessCollector(collected)
        return collected
    return DEFAULT_REGISTRY


async def metrics_view(request: web.Request) -> web.Response:
    sample_pool(request.app)
    body = generate_latest(registry())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def sample_pool(app: web.Application) -> None:
    db = app.get(DB)
    if db is None:
        return
    metrics.db_pool_size.set(db.size)
    metrics.db_pool_in_use.set(db.in_use)
    metrics.db_pool_waiting.set(db.waiting)
    metrics.db_pool_max.set(db.max_size)


async def sample_forever(app: web.Application) -> None:
    """Pool gauges and loop lag, every half second: a blocked loop shows up as lag."""
    loop = asyncio.get_running_loop()
    while True:
        expected = loop.time() + SAMPLE_INTERVAL_S
        await asyncio.sleep(SAMPLE_INTERVAL_S)
        metrics.event_loop_lag.set(max(0.0, loop.time() - expected))
        sample_pool(app)


async def sampler_ctx(app: web.Application) -> AsyncIterator[None]:
    task = asyncio.create_task(sample_forever(app), name="telemetry-sampler")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

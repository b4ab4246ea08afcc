"""Request ids, request metrics and the /metrics page.

The request id (``X-Request-Id``, generated when absent) is set in a context variable so
every log line of the request carries it, and echoed back so a client can quote it.
"""

from __future__ import annotations

import os
import re
import time
import uuid

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

from service import metrics
from service.bootstrap import DB
from service.http.problems import Handler
from service.jobs.sampler import sample_pool
from service.request_id import request_id_var

REQUEST_ID_HEADER = "X-Request-Id"
VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


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
    db = request.app.get(DB)
    if db is not None:
        sample_pool(db)
    body = generate_latest(registry())
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

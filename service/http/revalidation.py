"""Answers that browsers can cache and revalidate: ETag, 304, gzip, and freshness headers.

A seat map or a zone list is named by its version (``etag_base``), so its strong ETag is
that name plus the form and the coding: a client that sends it back in ``If-None-Match``
gets a bodiless 304 while the version is unchanged. The body is serialised and gzipped
once per version and form (``ZoneSnapshot.encoded``), then served from memory.
``Cache-Control: no-cache`` lets a browser keep the answer but makes it ask every time.

Every answer carries ``X-Read-Source`` (cache, primary, replica), ``X-Read-Version`` and
``X-Read-Age-Ms``: the lab counts stale reads by them.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from service.domain.availability import Freshness
from service.domain.errors import InvalidRequest

COMPACT = "compact"
VERBOSE = "verbose"
FORMS = (COMPACT, VERBOSE)
COMPACT_MEDIA_TYPE = "application/vnd.ticketlab.seatmap+json"
GZIP_LEVEL = 6


def freshness_headers(freshness: Freshness) -> dict[str, str]:
    headers = {"X-Read-Source": freshness.source, "X-Read-Age-Ms": str(freshness.age_ms)}
    if freshness.version is not None:
        headers["X-Read-Version"] = str(freshness.version)
    return headers


def seat_map_form(request: web.Request) -> str:
    """``?form=compact|verbose`` wins; else the compact media type in ``Accept``; else verbose."""
    form = request.query.get("form")
    if form is not None:
        if form not in FORMS:
            raise InvalidRequest(
                f"form={form!r} is not one of {', '.join(FORMS)}", {"form": "compact or verbose"}
            )
        return form
    return COMPACT if COMPACT_MEDIA_TYPE in request.headers.get("Accept", "") else VERBOSE


def accepts_gzip(request: web.Request) -> bool:
    """Whether ``Accept-Encoding`` lists gzip with a non-zero weight."""
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def etag_matches(request: web.Request, etag: str) -> bool:
    """``If-None-Match`` names this representation (weak comparison, as RFC 9110 asks;
    the gzip and identity codings of one version count as the same)."""
    header = request.headers.get("If-None-Match")
    if not header:
        return False
    if header.strip() == "*":
        return True
    wanted = etag.removesuffix('-gz"').removesuffix('"')
    for tag in header.split(","):
        tag = tag.strip().removeprefix("W/")
        if tag.removesuffix('-gz"').removesuffix('"') == wanted:
            return True
    return False


def encoded_body(
    cache: dict[str, bytes] | None, key: str, gzipped: bool, build: Callable[[], Any]
) -> bytes:
    """The JSON of ``build()``, gzipped if asked, memoised in ``cache`` under ``key``."""
    name = key + (".gz" if gzipped else "")
    if cache is not None and name in cache:
        return cache[name]
    plain = cache.get(key) if cache is not None else None
    if plain is None:
        plain = json.dumps(build(), separators=(",", ":")).encode()
        if cache is not None:
            cache[key] = plain
    body = gzip.compress(plain, compresslevel=GZIP_LEVEL, mtime=0) if gzipped else plain
    if cache is not None:
        cache[name] = body
    return body


def cached_json_response(
    request: web.Request,
    *,
    etag_base: str | None,
    key: str,
    cache: dict[str, bytes] | None,
    build: Callable[[], Any],
    freshness: Freshness,
    content_type: str = "application/json",
) -> web.Response:
    """200 with the (maybe gzipped) JSON, or 304 when ``If-None-Match`` names it."""
    gzipped = accepts_gzip(request)
    headers = freshness_headers(freshness)
    headers["Cache-Control"] = "no-cache"
    headers["Vary"] = "Accept, Accept-Encoding"
    if etag_base is not None:
        etag = f'"{etag_base}-{key}' + ('-gz"' if gzipped else '"')
        headers["ETag"] = etag
        if etag_matches(request, etag):
            return web.Response(status=304, headers=headers)
    body = encoded_body(cache, key, gzipped, build)
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return web.Response(body=body, content_type=content_type, headers=headers)

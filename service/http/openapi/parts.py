"""The building blocks of the OpenAPI document: shared responses, parameters and operations.

``operation`` adds the statuses every route may send (400, 401 where secured, 413 with a
body, 429 where rate limited, 503 where it needs MariaDB or Redis), so a path lists only
what is particular to it.
"""

from __future__ import annotations

from typing import Any

from service.http.auth import CONTROL_CHARS
from service.http.parsing import MAX_ID
from service.http.problems import PROBLEM_JSON

JSON = "application/json"
AUTH = [{"bearer": []}]
MEMBER_TAG, PUBLIC_TAG = "member", "public"  # needs a bearer token, or not
PROBLEM = {"$ref": "#/components/responses/Problem"}
RETRY_AFTER = {
    "description": "seconds to wait before trying again",
    "schema": {"type": "string", "pattern": "^[0-9]+$"},
}
OVERLOADED = {
    "description": "overloaded or a server it needs is away: retry after Retry-After",
    "headers": {"Retry-After": RETRY_AFTER},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
RATE_LIMITED = {
    "description": "past a rate limit (the problem's `limit` names it): retry after Retry-After",
    "headers": {"Retry-After": {**RETRY_AFTER, "required": True}},
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}
# No control characters (what the query parsers refuse); printable ASCII for opaque tokens.
NO_CONTROLS = f"^[^{CONTROL_CHARS}]*$"
PRINTABLE_ASCII = r"^[ -~]*$"


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }


def json_body(description: str, schema: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}, **extra}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def query(name: str, schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "schema": schema}


def path_id(name: str) -> dict[str, Any]:
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema}


def operation(
    summary: str,
    responses: dict[str, Any],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    secured: bool = False,
    overloadable: bool = True,
    rate_limited: bool = False,
) -> dict[str, Any]:
    """One operation; the statuses every route shares are added here."""
    all_responses = {"400": PROBLEM, **responses}
    if rate_limited:
        all_responses["429"] = RATE_LIMITED
    if secured:
        all_responses["401"] = problem("no, an invalid or an expired bearer token")
    if body is not None:
        all_responses["413"] = problem("a body larger than TICKETLAB_MAX_BODY_BYTES")
    if overloadable:
        all_responses["503"] = OVERLOADED
    op: dict[str, Any] = {"summary": summary, "responses": dict(sorted(all_responses.items()))}
    op["tags"] = [MEMBER_TAG if secured else PUBLIC_TAG]
    if secured:
        op["security"] = AUTH
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    return op


# Reads served from the availability read model: validators, freshness, revalidation.
IF_NONE_MATCH = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": (
        "ETags from earlier answers: 304 while one still names the current answer (any"
        " other text is simply no match)"
    ),
    "schema": {"type": "string"},
}
NOT_MODIFIED = {
    "description": "not modified: the ETag sent still names the current answer (no body)",
}


def read_headers(*, versioned: bool) -> dict[str, Any]:
    """What every cached read says about itself (``service/http/revalidation.py``)."""
    headers: dict[str, Any] = {
        "ETag": {
            "description": "strong validator: the version, the form and the coding",
            "required": True,
            "schema": {"type": "string"},
        },
        "Cache-Control": {"required": True, "schema": {"type": "string", "enum": ["no-cache"]}},
        "X-Read-Source": {
            "description": "where the answer came from",
            "required": True,
            "schema": {"type": "string", "enum": ["cache", "primary", "replica"]},
        },
        "X-Read-Age-Ms": {
            "description": "how long ago the data served was known to be current",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
    }
    if versioned:
        headers["X-Read-Version"] = {
            "description": "the zone version (zones: the sum of the concert's zone versions)",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    return headers


def cached_read(
    description: str, content: dict[str, dict[str, Any]], *, versioned: bool
) -> dict[str, Any]:
    """A 200 with its freshness headers; ``content`` maps media types to schemas."""
    return {
        "description": description,
        "headers": read_headers(versioned=versioned),
        "content": {media: {"schema": schema} for media, schema in content.items()},
    }

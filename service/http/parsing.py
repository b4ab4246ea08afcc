"""Request parsing: turn untrusted input into typed values or a 4xx that names the problem.

Views never index a request body directly; they ask for what they need here, so a wrong
type, a missing field or malformed JSON is always a problem+json 4xx and never a 500.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from service.domain.errors import InvalidRequest, MalformedInput, NotFound

MAX_ID = 2**63 - 1
# Beyond this a JSON number written with a fraction (7.0) may not be the integer it names.
MAX_EXACT_FLOAT_INT = 2**53


async def read_json_object(request: web.Request) -> dict[str, Any]:
    """The body as a JSON object; anything else is a 400 naming what was wrong."""
    return parse_json_object(await request.read())


def parse_json_object(raw: bytes | str, what: str = "the request body") -> dict[str, Any]:
    """``raw`` as a JSON object, else ``MalformedInput`` (400): where untrusted JSON is read.

    ``json.loads`` fails in more ways than ``JSONDecodeError``: deep nesting is a
    ``RecursionError``, a number of more than 4300 digits a plain ``ValueError``, bad UTF-8 a
    ``UnicodeDecodeError``. All of them are the client's mistake, so all are a 400 and never a
    500; keeping every request body on this one reader keeps that true for new routes too.
    ``NaN`` and ``Infinity`` are not JSON (RFC 8259), so they are refused here as well.
    """
    if not raw:
        raise MalformedInput(f"{what} is empty; expected a JSON object")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedInput(f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise MalformedInput(f"{what} is not valid JSON: it is nested too deeply") from None
    except ValueError as exc:
        # A constant _refuse_constant refused, or the int-digits limit, whose message
        # suggests a Python setting, which is no use to a client.
        if isinstance(exc, _NotJson):
            detail = str(exc)
        elif "digits" in str(exc):
            detail = "a number has too many digits"
        else:
            detail = "it cannot be read"
        raise MalformedInput(f"{what} is not valid JSON: {detail}") from None
    if not isinstance(body, dict):
        raise MalformedInput(f"expected a JSON object, got {type(body).__name__}")
    return body


class _NotJson(ValueError):
    """A token Python's json accepts but JSON does not."""


def _refuse_constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value")


def int_list(body: dict[str, Any], name: str, *, max_items: int, unique: bool = False) -> list[int]:
    value = body.get(name)
    if value is None:
        raise InvalidRequest(f"{name} is required", {name: "required"})
    if not isinstance(value, list):
        raise InvalidRequest(f"{name} must be an array of integers", {name: "must be an array"})
    if len(value) > max_items:
        raise InvalidRequest(
            f"{name} has {len(value)} items; at most {max_items} allowed",
            {name: f"at most {max_items} items"},
        )
    ints = [as_int(item) for item in value]
    if None in ints:
        raise InvalidRequest(f"{name} must contain only integers", {name: "integers only"})
    value = [item for item in ints if item is not None]
    if not all(0 < item <= MAX_ID for item in value):
        raise InvalidRequest(f"{name} must contain positive ids", {name: "positive ids only"})
    if unique and len(set(value)) != len(value):
        repeated = sorted({item for item in value if value.count(item) > 1})
        raise InvalidRequest(
            f"{name} repeats {', '.join(map(str, repeated))}", {name: "each id at most once"}
        )
    return value


def as_int(value: Any) -> int | None:
    """``value`` as an integer if JSON Schema calls it one, else None.

    JSON does not tell 7 from 7.0 and JSON Schema's ``integer`` accepts both, so an integral
    number written with a fraction is that integer, as long as a float holds it exactly.
    Booleans are not integers here, even though Python says they are.
    """
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer() and abs(value) <= MAX_EXACT_FLOAT_INT:
        return int(value)
    return None


def reject_unknown_fields(body: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise InvalidRequest(
            "unknown field(s): " + ", ".join(unknown),
            {name: "unknown field" for name in unknown},
        )


def path_id(request: web.Request, name: str, kind: str) -> int:
    """A numeric path segment; the route already requires digits, this bounds the size."""
    value = int(request.match_info[name])
    if not 0 < value <= MAX_ID:
        raise NotFound(kind, value)
    return value


def optional_query(request: web.Request, name: str, *, max_len: int = 8) -> str | None:
    value = request.query.get(name)
    if value is None:
        return None
    if not value or len(value) > max_len or not value.isalnum():
        raise InvalidRequest(f"{name}={value!r} is not valid", {name: "letters or digits"})
    return value

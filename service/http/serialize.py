"""Domain objects to JSON: dataclasses, enums and aware datetimes (ISO 8601, UTC).

The standard library's C encoder walks dicts and lists itself; Python code runs only for
the objects it cannot encode (``encode_default``). A seat map is a list of ~1,700
dataclasses, so a recursive pure-Python conversion used to cost a third of a worker's CPU
under load (py-spy, seed-profile).
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from enum import Enum
from typing import Any

from aiohttp import web


def encode_default(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return value.__dict__
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps(value: Any) -> str:
    return json.dumps(value, default=encode_default)


def json_response(value: Any, status: int = 200, **kwargs: Any) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json", **kwargs)

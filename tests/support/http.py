"""One HTTP call helper for tests that talk to a real server."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import aiohttp


class Reply(NamedTuple):
    status: int
    body: Any  # the JSON body, or None when empty
    response: aiohttp.ClientResponse  # headers, content type, cookies (the body is read)


async def call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Reply:
    """Never follows redirects, so a test sees the 302 a browser would."""
    kwargs.setdefault("allow_redirects", False)
    async with http.request(method, url, **kwargs) as response:
        text = await response.text()
        return Reply(response.status, json.loads(text) if text else None, response)

"""Toxiproxy 2.x's HTTP API over a ``Collection``: same paths, bodies and status codes, so
Toxiproxy's own clients (and chaos tools built on them) drive this proxy unchanged.

    GET    /proxies                          every proxy with its toxics, by name
    POST   /proxies                          create (201); 409 when the name exists
    POST   /populate                         create or replace a list (201, {"proxies": [...]})
    GET    /proxies/{proxy}                  one proxy with its toxics
    POST   /proxies/{proxy}                  update listen, upstream, enabled (PATCH too)
    DELETE /proxies/{proxy}                  204
    GET    /proxies/{proxy}/toxics           the proxy's toxics
    POST   /proxies/{proxy}/toxics           add a toxic (200, as Toxiproxy answers)
    GET    /proxies/{proxy}/toxics/{toxic}   one toxic
    POST   /proxies/{proxy}/toxics/{toxic}   update attributes and toxicity (PATCH too)
    DELETE /proxies/{proxy}/toxics/{toxic}   204
    POST   /reset                            every proxy enabled, every toxic removed (204)
    GET    /version                          {"version": "..."}

Errors are Toxiproxy's ``{"error": "...", "status": N}``. As in Toxiproxy, a request whose
User-Agent is a browser's is refused (403): a web page must not be able to reconfigure it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from scenarios.faults.proxies import Collection
from scenarios.faults.toxics import ApiError, bad_request

VERSION = "2.12.0-ticketlab"
COLLECTION = web.AppKey("collection", Collection)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def answer(body: Any, status: int = 200) -> web.Response:
    return web.json_response(body, status=status)


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        return answer({"error": "User agent not allowed", "status": 403}, 403)
    try:
        return await handler(request)
    except ApiError as exc:
        return answer(exc.body(), exc.status)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return answer({"error": exc.reason, "status": exc.status}, exc.status)


async def body_of(request: web.Request) -> Any:
    text = await request.text()
    if not text.strip():
        return {}
    try:
        return json.loads(text)
    except ValueError as exc:
        raise bad_request(str(exc)) from None


def collection(request: web.Request) -> Collection:
    return request.app[COLLECTION]


async def proxy_index(request: web.Request) -> web.Response:
    return answer({name: p.to_json() for name, p in collection(request).proxies.items()})


async def proxy_create(request: web.Request) -> web.Response:
    proxy = await collection(request).create(await body_of(request))
    return answer(proxy.to_json(), 201)


async def populate(request: web.Request) -> web.Response:
    proxies = await collection(request).populate(await body_of(request))
    return answer({"proxies": [p.to_json() for p in proxies]}, 201)


async def proxy_show(request: web.Request) -> web.Response:
    return answer(collection(request).get(request.match_info["proxy"]).to_json())


async def proxy_update(request: web.Request) -> web.Response:
    proxy = collection(request).get(request.match_info["proxy"])
    body = await body_of(request)
    if not isinstance(body, dict):
        raise bad_request("expected a JSON object")
    await proxy.update(body)
    return answer(proxy.to_json())


async def proxy_delete(request: web.Request) -> web.Response:
    await collection(request).delete(request.match_info["proxy"])
    return web.Response(status=204)


async def toxic_index(request: web.Request) -> web.Response:
    proxy = collection(request).get(request.match_info["proxy"])
    return answer([t.to_json() for t in proxy.toxics.values()])


async def toxic_create(request: web.Request) -> web.Response:
    proxy = collection(request).get(request.match_info["proxy"])
    return answer(proxy.add_toxic(await body_of(request)).to_json())


async def toxic_show(request: web.Request) -> web.Response:
    proxy = collection(request).get(request.match_info["proxy"])
    return answer(proxy.get_toxic(request.match_info["toxic"]).to_json())


async def toxic_update(request: web.Request) -> web.Response:
    proxy = collection(request).get(request.match_info["proxy"])
    toxic = proxy.update_toxic(request.match_info["toxic"], await body_of(request))
    return answer(toxic.to_json())


async def toxic_delete(request: web.Request) -> web.Response:
    proxy = collection(request).get(request.match_info["proxy"])
    proxy.remove_toxic(request.match_info["toxic"])
    return web.Response(status=204)


async def reset(request: web.Request) -> web.Response:
    await collection(request).reset()
    return web.Response(status=204)


async def version(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps({"version": VERSION}) + "\n", content_type="application/json"
    )


def build_app(proxies: Collection) -> web.Application:
    app = web.Application(middlewares=[errors])
    app[COLLECTION] = proxies
    app.router.add_get("/proxies", proxy_index)
    app.router.add_post("/proxies", proxy_create)
    app.router.add_post("/populate", populate)
    app.router.add_get("/proxies/{proxy}", proxy_show)
    app.router.add_route("POST", "/proxies/{proxy}", proxy_update)
    app.router.add_route("PATCH", "/proxies/{proxy}", proxy_update)
    app.router.add_delete("/proxies/{proxy}", proxy_delete)
    app.router.add_get("/proxies/{proxy}/toxics", toxic_index)
    app.router.add_post("/proxies/{proxy}/toxics", toxic_create)
    app.router.add_get("/proxies/{proxy}/toxics/{toxic}", toxic_show)
    app.router.add_route("POST", "/proxies/{proxy}/toxics/{toxic}", toxic_update)
    app.router.add_route("PATCH", "/proxies/{proxy}/toxics/{toxic}", toxic_update)
    app.router.add_delete("/proxies/{proxy}/toxics/{toxic}", toxic_delete)
    app.router.add_post("/reset", reset)
    app.router.add_get("/version", version)

    async def close_proxies(app: web.Application) -> None:
        await app[COLLECTION].close()

    app.on_shutdown.append(close_proxies)
    return app

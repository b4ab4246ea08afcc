"""Faults through the fault proxy as nemesis kinds: a Toxiproxy toxic on one link, a link down.

Both act through the proxy's own Toxiproxy API (``FaultContext.proxy.client``), exactly as
an outside Toxiproxy client would.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from scenarios.faults.fault_kind import Applied, FaultContext, FaultKind, Param, in_thread
from scenarios.faults.lab import LINKS
from scenarios.faults.toxics import STREAMS, TOXIC_TYPES, ApiError, parse_toxic

_PROXY = Param("string", "which link of the fault proxy", required=True, choices=LINKS)


def _toxic_body(params: Mapping[str, Any]) -> dict[str, Any]:
    body = {
        "type": params["type"],
        "stream": params.get("stream", "downstream"),
        "toxicity": params.get("toxicity", 1.0),
        "attributes": dict(params.get("attributes") or {}),
    }
    if params.get("name"):
        body["name"] = params["name"]
    return body


def _toxic_checks(params: Mapping[str, Any]) -> list[str]:
    try:
        parse_toxic(_toxic_body(params))
    except ApiError as exc:
        return [exc.message.removeprefix("bad request body: ")]
    return []


async def toxic_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    proxy = ctx.need("proxy")
    made = await in_thread(proxy.client.add_toxic, params["proxy"], _toxic_body(params))
    return Applied(state=made["name"])


async def toxic_off(ctx: FaultContext, params: Mapping[str, Any], name: Any) -> None:
    await in_thread(ctx.need("proxy").client.remove_toxic, params["proxy"], name)


async def down_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await in_thread(ctx.need("proxy").client.set_enabled, params["proxy"], False)
    return Applied(note=f"{params['proxy']} connections dropped and refused")


async def down_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await in_thread(ctx.need("proxy").client.set_enabled, params["proxy"], True)


KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        "toxic",
        "A Toxiproxy toxic on one link through the fault proxy.",
        toxic_on,
        toxic_off,
        params={
            "proxy": _PROXY,
            "type": Param("string", "the toxic's type", required=True, choices=TOXIC_TYPES),
            "stream": Param("string", "direction", default="downstream", choices=STREAMS),
            "toxicity": Param("number", "share of connections hit", minimum=0, maximum=1),
            "attributes": Param("object", "the toxic's attributes (Toxiproxy's names)"),
            "name": Param("string", "the toxic's name (default <type>_<stream>)"),
        },
        target=lambda p: f"proxy:{p.get('proxy')}",
        links=lambda p: (p["proxy"],),
        extra_checks=_toxic_checks,
    ),
    FaultKind(
        "proxy-down",
        "A link through the fault proxy goes down: connections drop, new ones are refused.",
        down_on,
        down_off,
        params={"proxy": _PROXY},
        target=lambda p: f"proxy:{p.get('proxy')}",
        links=lambda p: (p["proxy"],),
    ),
)

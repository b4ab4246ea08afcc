"""The payment provider's faults as a nemesis kind: its fault set replaced, cleared when off.

Steps are checked with the provider's own parser, so ``ticketlab validate`` and
``PUT /_lab/faults`` agree exactly.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from providers.psp.faults import Faults, FaultsError
from scenarios.faults.fault_kind import Applied, FaultContext, FaultKind, in_thread

ADMIN_TIMEOUT_S = 5.0


def _put_psp_faults(psp_url: str, params: Mapping[str, Any]) -> None:
    request = urllib.request.Request(
        f"{psp_url}/_lab/faults", data=json.dumps(dict(params)).encode(), method="PUT"
    )
    try:
        with urllib.request.urlopen(request, timeout=ADMIN_TIMEOUT_S):
            pass
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")
        raise RuntimeError(f"the provider refused faults {dict(params)}: {detail}") from None


def psp_fault_problems(params: Mapping[str, Any]) -> list[str]:
    """The provider's own parser, so validation and ``PUT /_lab/faults`` agree exactly."""
    try:
        Faults.parse(to_plain(params))
    except FaultsError as exc:
        return [f"params.{exc}"]
    return []


def to_plain(value: Any) -> Any:
    """Mappings (a scenario's are read-only proxies) as dicts, all the way down."""
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    return value


async def psp_on(ctx: FaultContext, params: Mapping[str, Any]) -> Applied:
    await in_thread(_put_psp_faults, ctx.psp_url, params)
    return Applied()


async def psp_off(ctx: FaultContext, params: Mapping[str, Any], state: Any) -> None:
    await in_thread(_put_psp_faults, ctx.psp_url, {})


KINDS: tuple[FaultKind, ...] = (
    FaultKind(
        "psp-faults",
        "Replace the payment provider's fault set (its own schema), cleared when off.",
        psp_on,
        psp_off,
        open_params=True,
        target=lambda p: "psp",
        extra_checks=psp_fault_problems,
        needs=("pay",),
    ),
)

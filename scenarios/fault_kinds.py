"""What each nemesis fault kind accepts, so ``ticketlab validate`` refuses a bad fault before
anything starts.

A parameter the target refuses only at run time (or worse, ignores) makes a scenario lie
about what it tested, so every kind names a check of its parameters: a function from the
fault's ``params`` to problems, each naming the parameter. ``needs`` lists workload fields
that must be true for the fault to act at all (faults at the payment provider do nothing
when no buyer pays). The nemesis (``scenarios/nemesis.py``) performs the kinds named here.

A new kind registers itself beside its actions::

    register(FaultKind("replica-lag", check=lag_problems, about="MASTER_DELAY on the replica"))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.psp.faults import Faults, FaultsError

ParamCheck = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class FaultKind:
    name: str
    check: ParamCheck
    needs: tuple[str, ...] = ()
    about: str = ""


KINDS: dict[str, FaultKind] = {}


def register(kind: FaultKind) -> FaultKind:
    KINDS[kind.name] = kind
    return kind


def known() -> tuple[str, ...]:
    return tuple(sorted(KINDS))


def psp_fault_problems(params: Mapping[str, Any]) -> list[str]:
    """The provider's own parser, so validation and ``PUT /_lab/faults`` agree exactly."""
    try:
        Faults.parse(to_plain(params))
    except FaultsError as exc:
        return [str(exc)]
    return []


def to_plain(value: Any) -> Any:
    """Mappings (a scenario's are read-only proxies) as dicts, all the way down."""
    if isinstance(value, Mapping):
        return {key: to_plain(item) for key, item in value.items()}
    return value


register(
    FaultKind(
        "psp-faults",
        psp_fault_problems,
        needs=("pay",),
        about="the payment provider's fault set (providers/psp/faults.py)",
    )
)

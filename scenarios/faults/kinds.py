"""The nemesis's fault kinds: one registry, ``FAULT_KINDS``, kind name → ``FaultKind``.

The kinds live beside what they act on — ``psp_faults`` (the payment provider),
``proxy_faults`` (toxics and downs through the fault proxy), ``replication_faults``
(replication lag three ways), ``process_faults`` (workers, lab servers, DB connections) —
and ``fault_kind`` says what a kind is (parameter schema, on/off actions, checks).
``FAULT_KINDS[kind].problems(params, duration_s)`` checks one step; ``schemas()`` gives every
kind's schema as JSON Schema.
"""

from __future__ import annotations

from typing import Any

from scenarios.faults import process_faults, proxy_faults, psp_faults, replication_faults
from scenarios.faults.fault_kind import Applied, FaultContext, FaultKind, Param

__all__ = [
    "FAULT_KINDS",
    "Applied",
    "FaultContext",
    "FaultKind",
    "Param",
    "links_needed",
    "schemas",
]

FAULT_KINDS: dict[str, FaultKind] = {
    kind.name: kind
    for module in (psp_faults, proxy_faults, replication_faults, process_faults)
    for kind in module.KINDS
}


def links_needed(steps: Any) -> set[str]:
    """The fault proxy's links a list of nemesis steps uses (empty: no proxy needed)."""
    needed: set[str] = set()
    for step in steps:
        kind = FAULT_KINDS.get(step.kind)
        if kind is not None and not kind.problems(step.params, step.duration_s):
            needed.update(kind.links(step.params))
    return needed


def schemas() -> dict[str, dict[str, Any]]:
    """Every kind's parameter schema, by name (for ``ticketlab validate`` and docs)."""
    return {name: kind.schema() for name, kind in FAULT_KINDS.items()}

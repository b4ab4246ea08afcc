"""The measurements ``nox -s bench`` can run: one module each, registered by name.

A module in ``scenarios/bench/measurements/`` registers its function with
``@measurement("name", "what it measures")``; ``load_all()`` imports every module there,
so adding a measurement is adding a file. ``--only NAME`` selects by these names.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scenarios.bench.context import BenchContext
    from scenarios.bench.rows import Row

Measure = Callable[["BenchContext"], list["Row"]]


@dataclass(frozen=True)
class Measurement:
    name: str
    description: str
    measure: Measure


_REGISTRY: dict[str, Measurement] = {}


def measurement(name: str, description: str) -> Callable[[Measure], Measure]:
    def register(function: Measure) -> Measure:
        if name in _REGISTRY and _REGISTRY[name].measure is not function:
            raise ValueError(f"two bench measurements are named {name!r}")
        _REGISTRY[name] = Measurement(name, description, function)
        return function

    return register


def load_all() -> dict[str, Measurement]:
    """Every registered measurement, in name order (importing the measurement modules)."""
    from scenarios.bench import measurements

    for module in pkgutil.iter_modules(measurements.__path__):
        importlib.import_module(f"{measurements.__name__}.{module.name}")
    return dict(sorted(_REGISTRY.items()))


def select(known: dict[str, Measurement], only: Sequence[str]) -> list[Measurement]:
    """The measurements named in ``only`` (all when empty); an unknown name is a ValueError
    naming it and the known ones."""
    if not only:
        return list(known.values())
    unknown = [name for name in only if name not in known]
    if unknown:
        raise ValueError(
            f"unknown bench measurement {', '.join(map(repr, unknown))}; known: {', '.join(known)}"
        )
    return [known[name] for name in dict.fromkeys(only)]

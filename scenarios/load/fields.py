"""Typed reads of the workload's JSON, each bad value a ``WorkloadError`` naming its field.

``FieldReader`` reads one JSON object: it remembers which keys were read so that ``done``
can refuse the rest (a typo is never silently a default), and names a bad value by its
dotted path (``seats.hotspot_share: must be between 0 and 1, got 1.5``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


class WorkloadError(ValueError):
    """A workload value that cannot be used; ``field`` is its dotted path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class FieldReader:
    """Typed reads from one JSON object, tracking which keys were used to reject the rest."""

    def __init__(self, data: Any, prefix: str) -> None:
        if not isinstance(data, Mapping):
            raise WorkloadError(prefix or "workload", f"must be a JSON object, got {data!r}")
        self.data, self.prefix, self.used = data, prefix, set[str]()

    def path(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def raw(self, key: str, default: Any) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if default is None:
                raise WorkloadError(self.path(key), "is required")
            return default
        return self.data[key]

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise WorkloadError(self.path(unknown[0]), "is not a known field")

    def section(self, key: str) -> FieldReader | None:
        self.used.add(key)
        value = self.data.get(key)
        return None if value is None else FieldReader(value, self.path(key))

    optional_section = section

    def string(self, key: str, default: str | None = None) -> str:
        value = self.raw(key, default)
        if not isinstance(value, str) or not value.strip():
            raise WorkloadError(self.path(key), f"must be a non-empty string, got {value!r}")
        return value

    def optional_string(self, key: str) -> str | None:
        self.used.add(key)
        return None if self.data.get(key) is None else self.string(key)

    def url(self, key: str) -> str:
        value = self.string(key)
        if not value.startswith(("http://", "https://")):
            raise WorkloadError(self.path(key), f"must be an http(s) URL, got {value!r}")
        return value.rstrip("/")

    def hint(self, key: str, default: str) -> str:
        value = self.string(key, default)
        try:
            value.format(n=1)
        except (KeyError, IndexError, ValueError) as exc:
            raise WorkloadError(self.path(key), f"must use only {{n}}, got {value!r}") from exc
        if "{n}" not in value:
            raise WorkloadError(
                self.path(key), f"must contain {{n}} to tell buyers apart: {value!r}"
            )
        return value

    def choice(self, key: str, options: tuple[str, ...], default: str | None) -> str:
        value = self.raw(key, default)
        if value not in options:
            raise WorkloadError(
                self.path(key), f"must be one of {', '.join(options)}; got {value!r}"
            )
        return value

    def boolean(self, key: str, default: bool) -> bool:
        value = self.raw(key, default)
        if not isinstance(value, bool):
            raise WorkloadError(self.path(key), f"must be true or false, got {value!r}")
        return value

    def number(
        self,
        key: str,
        default: float | None,
        *,
        low: float | None = None,
        high: float | None = None,
        low_open: bool = False,
    ) -> float:
        value = self.raw(key, default)
        if not is_number(value):
            raise WorkloadError(self.path(key), f"must be a number, got {value!r}")
        if low is not None and (value <= low if low_open else value < low):
            bound = f"> {low:g}" if low_open else f">= {low:g}"
            raise WorkloadError(self.path(key), f"must be {bound}, got {value!r}")
        if high is not None and value > high:
            raise WorkloadError(
                self.path(key), f"must be between {low:g} and {high:g}, got {value!r}"
            )
        return float(value)

    def integer(self, key: str, default: int | None, *, low: int | None = None) -> int:
        value = self.raw(key, default)
        if not is_int(value):
            raise WorkloadError(self.path(key), f"must be an integer, got {value!r}")
        if low is not None and value < low:
            raise WorkloadError(self.path(key), f"must be >= {low}, got {value!r}")
        return value

    def ids(self, key: str, default: tuple[int, ...] | None) -> tuple[int, ...]:
        value = self.raw(key, default)
        if not isinstance(value, list | tuple) or not value:
            raise WorkloadError(self.path(key), f"must be a non-empty list of ids, got {value!r}")
        if not all(is_int(v) and v > 0 for v in value):
            raise WorkloadError(self.path(key), f"ids must be positive integers, got {value!r}")
        if len(set(value)) != len(value):
            raise WorkloadError(self.path(key), f"ids must be unique, got {value!r}")
        return tuple(value)

    def int_range(self, key: str, default: tuple[int, int], *, low: int) -> tuple[int, int]:
        value = self.raw(key, default)
        if not (isinstance(value, list | tuple) and len(value) == 2 and all(map(is_int, value))):
            raise WorkloadError(self.path(key), f"must be [min, max] integers, got {value!r}")
        lo, hi = value
        if lo < low or hi < lo:
            raise WorkloadError(self.path(key), f"must have {low} <= min <= max, got {value!r}")
        return int(lo), int(hi)

    def float_range(self, key: str, default: tuple[float, float]) -> tuple[float, float]:
        value = self.raw(key, default)
        if not (isinstance(value, list | tuple) and len(value) == 2 and all(map(is_number, value))):
            raise WorkloadError(self.path(key), f"must be [min, max] numbers, got {value!r}")
        lo, hi = value
        if lo < 0 or hi < lo:
            raise WorkloadError(self.path(key), f"must have 0 <= min <= max, got {value!r}")
        return float(lo), float(hi)

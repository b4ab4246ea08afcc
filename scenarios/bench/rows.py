"""One line of the bench's table: a measured value beside the baseline it is judged against."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Row:
    """``value`` and ``baseline`` are in ``unit`` (per second unless said otherwise);
    ``ratio`` is derived from them, never given, so it always matches what was measured."""

    measurement: str
    variant: str
    value: float
    unit: str = "/s"
    baseline: float | None = None
    baseline_name: str = ""
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline <= 0:
            return None
        return self.value / self.baseline

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


def per_second(count: float, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0

"""What a check says: a verdict, a one-line summary, the evidence, and measured numbers.

Verdicts are Jepsen's valid true / false / unknown. A failure carries counterexamples
(which seat, which holds, which payment) because a bare "fail" sends an engineer digging
through the database; a pass or unknown carries the numbers that were measured.

Results compose: any fail makes the whole fail; otherwise any unknown makes it unknown.
Everything here serialises to plain JSON for ``checks.json`` in a variant's directory.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

#: Counterexamples kept in a result; the full count is kept beside them. A naive variant can
#: oversell hundreds of seats, and a report needs a sample, not all of them.
MAX_COUNTEREXAMPLES = 50

Metric = int | float | str | None


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Any fail → fail; else any unknown → unknown; else pass (an empty set passes)."""
    seen = set(verdicts)
    if Verdict.FAIL in seen:
        return Verdict.FAIL
    if Verdict.UNKNOWN in seen:
        return Verdict.UNKNOWN
    return Verdict.PASS


@dataclass(frozen=True)
class CheckResult:
    """One check's verdict with its evidence.

    ``counterexamples`` holds at most :data:`MAX_COUNTEREXAMPLES` JSON-ready dicts;
    ``counterexample_count`` is how many there were. ``unsettled`` names what the quiesce
    step reported as not settled when it made this check ``unknown``.
    ``expected_violation`` is set when the variant exists to show this violation, so the
    verdict was inverted (see :func:`scenarios.checks.run.expect_violation`).
    """

    name: str
    verdict: Verdict
    summary: str
    counterexamples: tuple[Mapping[str, Any], ...] = ()
    counterexample_count: int = 0
    metrics: Mapping[str, Metric] = field(default_factory=dict)
    unsettled: tuple[str, ...] = ()
    expected_violation: str | None = None

    @classmethod
    def make(
        cls,
        name: str,
        verdict: Verdict,
        summary: str,
        counterexamples: Sequence[Mapping[str, Any]] = (),
        metrics: Mapping[str, Metric] | None = None,
        unsettled: Iterable[str] = (),
    ) -> CheckResult:
        """A result with its counterexamples capped and counted."""
        return cls(
            name=name,
            verdict=verdict,
            summary=summary,
            counterexamples=tuple(dict(c) for c in counterexamples[:MAX_COUNTEREXAMPLES]),
            counterexample_count=len(counterexamples),
            metrics=dict(metrics or {}),
            unsettled=tuple(unsettled),
        )

    @classmethod
    def unknown(cls, name: str, summary: str, **metrics: Metric) -> CheckResult:
        return cls.make(name, Verdict.UNKNOWN, summary, metrics=metrics)

    @property
    def passed(self) -> bool:
        return self.verdict is Verdict.PASS

    def with_name(self, name: str) -> CheckResult:
        return replace(self, name=name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "verdict": self.verdict.value,
            "summary": self.summary,
            "counterexamples": [dict(c) for c in self.counterexamples],
            "counterexample_count": self.counterexample_count,
            "metrics": dict(self.metrics),
            "unsettled": list(self.unsettled),
            "expected_violation": self.expected_violation,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        return cls(
            name=str(data["name"]),
            verdict=Verdict(data["verdict"]),
            summary=str(data["summary"]),
            counterexamples=tuple(dict(c) for c in data.get("counterexamples") or ()),
            counterexample_count=int(data.get("counterexample_count") or 0),
            metrics=dict(data.get("metrics") or {}),
            unsettled=tuple(data.get("unsettled") or ()),
            expected_violation=data.get("expected_violation"),
        )


@dataclass(frozen=True)
class CheckReport:
    """All of a variant's check results; its verdict is the composition of theirs."""

    results: tuple[CheckResult, ...] = ()

    @property
    def verdict(self) -> Verdict:
        return combine(r.verdict for r in self.results)

    def by_name(self) -> dict[str, CheckResult]:
        return {r.name: r for r in self.results}

    def failed(self) -> tuple[CheckResult, ...]:
        return tuple(r for r in self.results if r.verdict is Verdict.FAIL)

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict.value, "results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckReport:
        return cls(tuple(CheckResult.from_dict(r) for r in data.get("results") or ()))


def judge(
    name: str,
    *,
    definite: Sequence[Mapping[str, Any]],
    possible: Sequence[Mapping[str, Any]] = (),
    unsettled: Mapping[str, str] | None = None,
    what: str,
    metrics: Mapping[str, Metric] | None = None,
) -> CheckResult:
    """The verdict rule every invariant shares.

    ``definite`` violations are facts whatever happens next → fail. ``possible`` ones could
    still resolve (a payment in flight, an event not yet relayed); they, or any relevant
    unsettled thing, make the check unknown. Otherwise it passes. ``what`` names the
    violation in plural for the summary ("seats sold twice").
    """
    unsettled = dict(unsettled or {})
    if definite:
        return CheckResult.make(
            name,
            Verdict.FAIL,
            f"{len(definite)} {what}",
            [*definite, *possible],
            metrics,
            unsettled,
        )
    if possible or unsettled:
        reasons = "; ".join(f"{k}: {v}" for k, v in unsettled.items()) or "nothing reported"
        summary = f"not settled ({reasons})"
        if possible:
            summary = f"{len(possible)} possible {what}, {summary}"
        return CheckResult.make(name, Verdict.UNKNOWN, summary, possible, metrics, unsettled)
    return CheckResult.make(name, Verdict.PASS, f"no {what}", (), metrics)

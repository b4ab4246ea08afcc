"""Whether the load ran for as long as its shape planned, and if not, why Locust says.

Locust can end a load early on its own and still exit 0: its master stops the test when
the last worker "went missing" (no heartbeat for a while), a shape can crash. A variant
whose load stopped at 25 s of a planned 120 s was checked and summarised as if it had run:
its figures describe a shorter, lighter load than its label says. So a load that ended
more than a small tolerance before the plan makes the check ``load-ran-to-plan`` unknown
(the run did not do what it was meant to, so it cannot pass on its strength), with
Locust's own words from its log as the reason.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from scenarios.checks.result import CheckResult, Verdict

LOAD_RAN_TO_PLAN = "load-ran-to-plan"

#: An early end shorter than this is start-up and shut-down noise, not a cut: Locust's
#: clock starts after its workers connect, the lab's before it is launched.
EARLY_TOLERANCE_S = 5.0
EARLY_TOLERANCE_SHARE = 0.10

#: Lines of a Locust log that say why it stopped (its runner's log lines, lower-cased).
REASON_MARKERS = (
    "went missing",
    "failed to send heartbeat",
    "stopping test",
    "traceback (most recent call last)",
    "/error/",
    "/critical/",
)
MAX_REASON_LINES = 4
NO_REASON = "Locust's log does not say why"


def early_tolerance_s(planned_s: float) -> float:
    """How much earlier than planned a load may end and still count as run to plan."""
    return max(EARLY_TOLERANCE_S, EARLY_TOLERANCE_SHARE * planned_s)


@dataclass(frozen=True)
class LoadSpan:
    """How long the load ran (Locust started → Locust exited) against its shape's plan;
    ``reason`` is Locust's explanation when it ended early."""

    ran_s: float
    planned_s: float
    reason: str = ""

    @property
    def cut_short(self) -> bool:
        return self.ran_s < self.planned_s - early_tolerance_s(self.planned_s)

    def to_dict(self) -> dict[str, Any]:
        """The ``load_cut_short`` entry of summary.json."""
        return {"ran_s": round(self.ran_s, 1), "planned_s": self.planned_s, "reason": self.reason}

    def describe(self) -> str:
        return f"load ended after {self.ran_s:.0f} s of a planned {self.planned_s:g} s"


def load_span(ran_s: float, planned_s: float, log_text: str, exit_code: int | None) -> LoadSpan:
    """The load's span, with Locust's reason read from its log when it was cut short."""
    span = LoadSpan(ran_s, planned_s)
    if not span.cut_short:
        return span
    return LoadSpan(ran_s, planned_s, locust_reason(log_text, exit_code))


def locust_reason(log_text: str, exit_code: int | None = None) -> str:
    """The last few distinct lines of ``log_text`` that say why Locust stopped, joined with
    " | "; the exit code when none does."""
    found: list[str] = []
    for line in log_text.splitlines():
        text = line.strip()
        if any(marker in text.lower() for marker in REASON_MARKERS) and text not in found:
            found.append(text)
    if found:
        return " | ".join(found[-MAX_REASON_LINES:])
    return f"{NO_REASON} (exit code {exit_code})"


def load_ran_to_plan(span: LoadSpan | None) -> CheckResult:
    """Pass when the load ran to its plan; unknown, with the reason, when it was cut short
    or its span was not recorded."""
    if span is None:
        return CheckResult.unknown(LOAD_RAN_TO_PLAN, "the load's duration was not recorded")
    metrics: Mapping[str, float] = {"ran_s": round(span.ran_s, 1), "planned_s": span.planned_s}
    if span.cut_short:
        summary = f"{span.describe()}: {span.reason}"
        return CheckResult.make(LOAD_RAN_TO_PLAN, Verdict.UNKNOWN, summary, metrics=metrics)
    summary = f"load ran {span.ran_s:.0f} s of a planned {span.planned_s:g} s"
    return CheckResult.make(LOAD_RAN_TO_PLAN, Verdict.PASS, summary, metrics=metrics)

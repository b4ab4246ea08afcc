"""The runner: one scenario, end to end, as a pipeline of small steps.

    prepare (validate, run directory and manifest, stack up, fresh database and venue)
    → for each variant: the steps of ``scenarios/variant.py`` (reset → start apps → load
      with its companions → history → quiesce → check → stop apps → summarize)
    → report → verdict and exit code

Every child process is stopped on success, error or Ctrl-C; an interrupted run is marked
so in its manifest. Nothing outside the run directory is needed to read its report.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scenarios import rundir
from scenarios.apps import stop_leftovers
from scenarios.checks.result import Verdict, combine
from scenarios.live import absent_note
from scenarios.progress import Progress
from scenarios.provenance import code_version, machine, server_versions
from scenarios.spec import Scenario
from scenarios.stack.info import StackInfo
from scenarios.stack.stack import Stack
from scenarios.variant import RunContext, RunOptions, VariantResult, run_variant
from service import schema
from service.config import Settings
from service.domain.venue import capacity, venue_layout

__all__ = ["RunOptions", "RunResult", "VariantResult", "run_scenario"]

EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.UNKNOWN: 3}
EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


@dataclass
class RunResult:
    run_dir: Path
    verdict: Verdict
    variants: list[VariantResult] = field(default_factory=list)
    status: str = "completed"
    error: str | None = None

    @property
    def exit_code(self) -> int:
        if self.status == "interrupted":
            return EXIT_INTERRUPTED
        if self.status == "failed":
            return EXIT_ERROR
        return EXIT_CODES[self.verdict]


# -- steps --------------------------------------------------------------------------------


def prepare_database(settings: Settings, scenario: Scenario) -> list[int]:
    """A fresh database with the scenario's venue: every run starts from the same seats."""
    schema.drop_database(settings)
    schema.migrate(settings)
    venue = scenario.venue
    layout = venue_layout(venue.zones, venue.seats_per_row, venue.rows)
    return schema.seed(
        settings,
        concerts=venue.concerts,
        layout=layout,
        base_price=venue.base_price,
        ticket_limit=venue.ticket_limit,
    ).concert_ids


def write_report(run_dir: Path, progress: Progress) -> Path | None:
    done = subprocess.run(
        [sys.executable, "-m", "reports", str(run_dir)], capture_output=True, text=True, timeout=600
    )
    if done.returncode != 0:
        progress.log(f"[red]report failed[/]: {done.stderr.strip()[-500:]}")
        return None
    return run_dir / "report.html"


def run_scenario(
    scenario: Scenario,
    options: RunOptions,
    *,
    progress_factory: Callable[[str], Progress] = Progress,
) -> RunResult:
    scenario.validate()
    started_at = datetime.now(UTC)
    run_dir = rundir.new_run_dir(scenario.name, options.runs_dir, started_at)
    token = "r" + started_at.strftime("%H%M%S") + secrets.token_hex(3)
    manifest = rundir.Manifest(
        run_id=run_dir.name,
        scenario={"name": scenario.name, "description": scenario.description},
        started_at=started_at.isoformat(),
        command=options.command,
        rerun_command=options.command,
        seed=options.seed,
        variants=[v.name for v in scenario.matrix()],
        code=code_version(),
        machine=machine(),
    )
    manifest.write(run_dir)
    result = RunResult(run_dir, Verdict.UNKNOWN)
    stack_obj = Stack(options.lab_dir)
    stack: StackInfo | None = None
    with progress_factory(scenario.name) as progress:
        try:
            progress.enter("stack")
            leftovers = stop_leftovers(stack_obj.paths)
            if leftovers:
                progress.log(f"stopped leftovers of an earlier run: {', '.join(leftovers)}")
            stack = stack_obj.up()
            progress.log(absent_note(stack.influx_url))
            base = stack.settings(key_prefix=token)
            manifest.servers = server_versions(base) | stack.broker_version()
            progress.enter("database", note=f"{capacity_of(scenario)} seats")
            concert_ids = prepare_database(base, scenario)
            context = RunContext(run_dir, scenario, stack, concert_ids, progress, options, token)
            for index, variant in enumerate(scenario.matrix()):
                result.variants.append(run_variant(context, index, variant))
            result.verdict = combine(v.verdict for v in result.variants)
        except KeyboardInterrupt:
            result.status = "interrupted"
            progress.log("[yellow]interrupted[/]: children stopped")
        except Exception as exc:
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            progress.log(f"[red]run failed[/]: {result.error}")
        finally:
            stack_obj.delete_run_objects(token)  # its queues and exchanges, messages too
            if stack is not None and not options.keep_stack and stack.started:
                progress.enter("stack down")
                stack_obj.down()
            manifest.finish(result.status, result.verdict.value, result.error)
            manifest.write(run_dir)
        if options.report and result.status != "interrupted":
            progress.enter("report")
            write_report(run_dir, progress)
    return result


def capacity_of(scenario: Scenario) -> int:
    venue = scenario.venue
    return capacity(venue_layout(venue.zones, venue.seats_per_row, venue.rows)) * venue.concerts

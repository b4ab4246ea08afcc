"""One variant of a scenario, as a pipeline of small steps over one ``VariantRun``.

    configure → reset → start apps → load (Locust, with the companions beside it)
    → history → settle (quiesce) → check → finish (companions, apps stopped, logs)
    → summarize

Each step is a function of the ``VariantRun``: it reads what earlier steps left there and
leaves what later ones need. What runs beside the load (samplers, the metrics scraper,
the nemesis, …) is not called from here one by one: it is the list of companions in
``scenarios/beside.py``, whose hooks the load and finish steps call.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios import rundir
from scenarios.apps import AppPorts, Apps
from scenarios.beside import Companion, ResourceSampling, companions_for
from scenarios.checks.catalog import check_load_ran_to_plan, check_slo, invariant_checks
from scenarios.checks.load_plan import LoadSpan, load_span
from scenarios.checks.result import CheckReport, Verdict
from scenarios.checks.run import Check, run_checks
from scenarios.checks.snapshot import Evidence, MeasuredWindow
from scenarios.evidence import read_ledger, read_snapshot
from scenarios.history import History
from scenarios.load.merge import merge_parts
from scenarios.load.process import headless_argv, start_locust, stop_locust
from scenarios.load.shapes import Plan
from scenarios.load.workload import Workload, parse_workload, write_workload
from scenarios.locust_stats import read_locust_totals
from scenarios.nemesis import FaultLab
from scenarios.progress import Progress
from scenarios.quiesce import Quiesced, quiesce
from scenarios.reads import reads_summary
from scenarios.spec import Scenario, Variant
from scenarios.stack.info import PRIMARY, REPLICA, StackInfo
from scenarios.stack.paths import LabPaths
from scenarios.summary import Window, measured_window, summarize
from service import schema
from service.config import Settings
from service.domain.venue import capacity, venue_layout

LOCUST_GRACE_S = 60.0
LOCUST_STOP_S = 20.0
HOLD_GRACE_S = 5.0
LOCUST_CSV_PREFIX = "locust"


@dataclass(frozen=True)
class RunOptions:
    command: str
    runs_dir: Path = rundir.RUNS_DIR
    lab_dir: Path | None = None
    locust_processes: int | None = None
    seed: int = 1
    keep_stack: bool = False
    report: bool = True


@dataclass(frozen=True)
class RunContext:
    """What every variant of one run shares."""

    run_dir: Path
    scenario: Scenario
    stack: StackInfo
    concert_ids: list[int]
    progress: Progress
    options: RunOptions
    token: str  # unique per run: Redis keys and broker names of its variants


@dataclass
class VariantResult:
    name: str
    verdict: Verdict
    report: CheckReport
    summary: dict[str, Any]


@dataclass
class VariantRun:
    """One variant on its way through the steps; fields fill in as the steps run."""

    context: RunContext
    index: int
    variant: Variant
    out: Path = Path()
    ports: AppPorts = field(default_factory=AppPorts.choose)
    settings: Settings | None = None
    workload: Workload | None = None
    workload_path: Path = Path()
    apps: Apps | None = None
    faults: FaultLab | None = None
    companions: list[Companion] = field(default_factory=list)
    companion_errors: list[str] = field(default_factory=list)
    locust_pid: int = 0
    load_started: float = 0.0
    load_ended: float = 0.0
    load_span: LoadSpan | None = None  # how long Locust ran against the shape's plan
    history: History = field(default_factory=History)
    window: Window = field(default_factory=lambda: Window(0.0, 0.0, 0.0))
    settled: Quiesced | None = None
    report: CheckReport | None = None
    evidence: Evidence | None = None

    @property
    def progress(self) -> Progress:
        return self.context.progress

    @property
    def operations_path(self) -> Path:
        return self.out / "operations.jsonl"


# -- the steps ----------------------------------------------------------------------------


def configure(run: VariantRun) -> None:
    """The variant's directory, settings and workload, written down before anything runs."""
    ctx = run.context
    # Absolute: Locust and the apps run from the project root, the user from anywhere.
    run.out = rundir.variant_dir(ctx.run_dir, run.variant.name).resolve()
    run.settings = variant_settings(ctx, run.variant, run.ports, f"{ctx.token}v{run.index}")
    write_settings(run.out, run.settings)
    seed = ctx.options.seed + run.index
    run.workload = build_workload(ctx, run.variant, run.ports, run.out, seed)
    run.workload_path = write_workload(run.workload, run.out / "workload.json")
    run.companions = companions_for(run)


def reset(run: VariantRun) -> None:
    run.progress.enter("reset", variant=run.variant.name)
    schema.reset(run.settings)


def start_apps(run: VariantRun) -> None:
    """The service and the providers, their links routed through the fault proxy where the
    nemesis will act on them."""
    ctx = run.context
    paths = LabPaths.at(ctx.stack.lab_dir)
    parts = ctx.stack.parts
    run.faults = FaultLab(
        paths,
        parts[PRIMARY].port if PRIMARY in parts else None,
        parts[REPLICA].port if REPLICA in parts else None,
    )
    routed = run.faults.route(ctx.scenario.nemesis, run.settings)
    run.apps = Apps(
        paths,
        run.ports,
        routed,
        workers=ctx.scenario.workers,
        seed=ctx.options.seed,
    )
    for companion in run.companions:
        env = _guarded_sync(run, companion, "service_env", lambda c=companion: c.service_env(run))
        run.apps.service_env = {**run.apps.service_env, **(env or {})}
    note = f"{ctx.scenario.workers} worker(s), {run.settings.claim_strategy}"
    run.progress.enter("start", note=note)
    run.apps.start(os.environ)


async def drive_load(run: VariantRun) -> None:
    """Locust from start to its own end, the companions beside it."""
    workload = run.workload
    planned = Plan.of(workload.shape).duration_s if workload.shape is not None else None
    processes = run.context.options.locust_processes
    csv = run.out / LOCUST_CSV_PREFIX
    argv = headless_argv(workload, run.workload_path, processes=processes, csv_prefix=csv)
    log = run.out / "logs" / "locust.log"
    locust = start_locust(argv, log)
    run.locust_pid, run.load_started = locust.pid, time.time()
    run.progress.enter("load", planned_s=planned)
    started: list[Companion] = []
    try:
        for companion in run.companions:
            if await _guarded(run, companion, "start", lambda c=companion: c.start(run)):
                started.append(companion)
        deadline = time.monotonic() + (planned or 0) + LOCUST_GRACE_S
        while locust.poll() is None:
            if planned is not None and time.monotonic() > deadline:
                run.progress.log("locust ran past its shape's end; stopping it")
                break
            await asyncio.sleep(0.5)
            run.progress.refresh()
    finally:
        stop_locust(locust, LOCUST_STOP_S)
        run.load_ended = time.time()
        for companion in reversed(started):
            await _guarded(run, companion, "load_ended", lambda c=companion: c.load_ended(run))
    if locust.returncode not in (0, -signal.SIGTERM, None):
        tail = log.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust exited with {locust.returncode}:\n{tail}")
    if planned is not None:
        note_load_span(run, planned, log, locust.returncode)


def note_load_span(run: VariantRun, planned_s: float, log: Path, exit_code: int | None) -> None:
    """How long Locust ran against the plan; a load cut short is said now, loudly (Locust
    exits 0 when it stops a test itself), and later in the summary and the checks."""
    ran_s = run.load_ended - run.load_started
    text = log.read_text(errors="replace") if log.exists() else ""
    run.load_span = span = load_span(ran_s, planned_s, text, exit_code)
    if span.cut_short:
        run.progress.log(f"[red]load cut short[/]: {span.describe()}; Locust: {span.reason}")


def record_history(run: VariantRun) -> None:
    """One operations file (Locust's per-process parts merged), read back as the history,
    and the measured window it spans (``scenarios/summary.py``)."""
    merge_parts(run.operations_path)
    run.history = History.from_jsonl(run.operations_path.read_text())
    loaded = (run.load_started, run.load_ended)
    run.window = measured_window(run.history, run.workload.warmup_s, loaded)


def settle(run: VariantRun) -> None:
    timeout = run.context.scenario.quiesce_timeout_s
    run.progress.enter("quiesce", planned_s=timeout)
    run.settled = quiesce(run.settings, run.ports.psp_url, timeout, on_wait=run.progress.waiting)


def check(run: VariantRun) -> None:
    run.progress.enter("check")
    window = MeasuredWindow(run.window.warmup_end, run.window.load_end)
    evidence = run.evidence = gather_evidence(run, window)
    checks = checks_for(run.context, run.variant, run.settings)
    run.report = run_checks(checks, evidence)
    rundir.write_json(run.out / "checks.json", run.report.to_dict())


def finish(run: VariantRun) -> None:
    """Always, even after an error: companions wrap up, the apps stop, their logs are kept."""
    for companion in reversed(run.companions):
        _guarded_sync(run, companion, "finish", lambda c=companion: c.finish(run))
    run.progress.enter("stop")
    if run.apps is not None:
        run.apps.stop()
        run.apps.collect_logs(run.out / "logs")
        for companion in run.companions:
            _guarded_sync(run, companion, "after_stop", lambda c=companion: c.after_stop(run))
    if run.faults is not None:
        run.faults.close()  # a fault left on would poison the next variant


def summarize_variant(run: VariantRun) -> VariantResult:
    booking = run.report.by_name().get("no-double-booking")
    metrics = booking.metrics if booking is not None else {}
    extra: dict[str, Any] = {
        "seats_held_twice": metrics.get("seats_held_twice"),
        "seats_sold_twice": metrics.get("seats_sold_twice"),
        "locust": read_locust_totals(run.out / LOCUST_CSV_PREFIX),
        "quiesce_s": round(run.settled.seconds, 3),
        "unsettled": dict(run.settled.settlement.unsettled),
        "claim_strategy": run.settings.claim_strategy,
        "faults_undone": run.faults.notes if run.faults is not None else [],
    }
    db = run.evidence.db if run.evidence is not None else None
    extra["reads"] = reads_summary(run.history, run.window.warmup_end, db)
    for companion in run.companions:
        fields = _guarded_sync(run, companion, "summary", lambda c=companion: c.summary(run))
        extra.update(fields or {})
    if run.companion_errors:
        extra["companion_errors"] = run.companion_errors
    if run.load_span is not None and run.load_span.cut_short:
        extra["load_cut_short"] = run.load_span.to_dict()
    stats, summary = summarize(run.history, run.window, extra)
    rundir.write_csv(run.out / "stats.csv", rundir.STATS_COLUMNS, stats)
    rundir.write_json(run.out / "summary.json", summary)
    run.progress.log(f"{run.variant.name}: {run.report.verdict.value}")
    return VariantResult(run.variant.name, run.report.verdict, run.report, summary)


def run_variant(context: RunContext, index: int, variant: Variant) -> VariantResult:
    """The steps in order; ``finish`` runs whatever happens before it."""
    run = VariantRun(context, index, variant)
    configure(run)
    reset(run)
    try:
        start_apps(run)
        asyncio.run(drive_load(run))
        record_history(run)
        settle(run)
        check(run)
    finally:
        finish(run)
    return summarize_variant(run)


# -- helpers ------------------------------------------------------------------------------


def variant_settings(ctx: RunContext, variant: Variant, ports: AppPorts, prefix: str) -> Settings:
    return ctx.stack.settings(
        **ctx.scenario.variant_settings(variant),
        key_prefix=prefix,
        public_url=ports.service_url,
        oidc_issuer=ports.idp_url,
        psp_url=ports.psp_url,
    )


def write_settings(out: Path, settings: Settings) -> None:
    rundir.write_json(out / "settings.json", settings.public())


def build_workload(
    ctx: RunContext, variant: Variant, ports: AppPorts, out: Path, seed: int
) -> Workload:
    data = {
        "concert_ids": ctx.concert_ids,
        "seed": seed,
        **ctx.scenario.variant_workload(variant),
        "service_url": ports.service_url,
        "operations_path": str(out / "operations.jsonl"),
    }
    return parse_workload(data)


def checks_for(ctx: RunContext, variant: Variant, settings: Settings) -> list[Check]:
    """The scenario's invariants (inverted where the variant expects a violation) and SLOs.

    A hold may outlive its TTL by the sweeper's grace and interval before anything is wrong.
    """
    venue = ctx.scenario.venue
    per_concert = capacity(venue_layout(venue.zones, venue.seats_per_row, venue.rows))
    checks = list(
        invariant_checks(
            ctx.scenario.invariants,
            grace_s=settings.sweeper_grace_s + settings.sweeper_interval_s + HOLD_GRACE_S,
            capacity=dict.fromkeys(ctx.concert_ids, per_concert),
            expected_violations=variant.expect_violations,
            leak_resources=ctx.scenario.leak_resources,
        )
    )
    return [check_load_ran_to_plan(), *checks, *(check_slo(slo) for slo in ctx.scenario.slos)]


def gather_evidence(run: VariantRun, window: MeasuredWindow) -> Evidence:
    """The database first (one snapshot), the provider's ledger after: a capture the
    ledger shows but the snapshot does not is then real, never an artefact of read order."""
    db, events = read_snapshot(run.settings)
    try:
        ledger = read_ledger(run.ports.psp_url)
    except OSError:
        ledger = None
    sampling = next((c for c in run.companions if isinstance(c, ResourceSampling)), None)
    return Evidence(
        workers=sampling.worker_rows() if sampling is not None else None,
        history=run.history,
        db=db,
        ledger=ledger,
        events=events,
        settlement=run.settled.settlement,
        window=window,
        load=run.load_span,
    )


async def _guarded(
    run: VariantRun, companion: Companion, hook: str, call: Callable[[], Awaitable[None]]
) -> bool:
    try:
        await call()
    except Exception as exc:
        _record_failure(run, companion, hook, exc)
        return False
    return True


def _guarded_sync(
    run: VariantRun, companion: Companion, hook: str, call: Callable[[], Any]
) -> Mapping[str, Any] | None:
    try:
        return call()
    except Exception as exc:
        _record_failure(run, companion, hook, exc)
        return None


def _record_failure(run: VariantRun, companion: Companion, hook: str, exc: Exception) -> None:
    message = f"{companion.name}.{hook}: {type(exc).__name__}: {exc}"
    run.companion_errors.append(message)
    run.progress.log(f"[yellow]companion failed[/]: {message}")

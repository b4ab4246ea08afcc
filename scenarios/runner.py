"""The runner: one scenario, end to end, as a pipeline of small steps.

    prepare (validate, run directory, stack up, fresh database and venue)
    → for each variant: reset → start apps → load (Locust) with the nemesis and samplers
      → quiesce → gather evidence → check → summarize → stop apps
    → report → verdict and exit code

Every child process is stopped on success, error or Ctrl-C; an interrupted run is marked
so in its manifest. Nothing outside the run directory is needed to read its report.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from profiling.sampler import ProcessSampler, generator_bottleneck
from scenarios import rundir
from scenarios.apps import AppPorts, Apps, stop_leftovers
from scenarios.checks.catalog import check_slo, invariant_checks
from scenarios.checks.result import CheckReport, Verdict, combine
from scenarios.checks.run import Check, run_checks
from scenarios.checks.snapshot import Evidence, MeasuredWindow
from scenarios.evidence import read_ledger, read_snapshot
from scenarios.faults.heartbeat import LagCsv, heartbeat_lag
from scenarios.history import History
from scenarios.load.merge import merge_parts
from scenarios.load.process import headless_argv, start_locust, stop_locust
from scenarios.load.shapes import Plan
from scenarios.load.workload import Workload, parse_workload, write_workload
from scenarios.nemesis import FaultLab, Nemesis
from scenarios.progress import Progress
from scenarios.quiesce import quiesce
from scenarios.scrape import scrape_forever
from scenarios.spec import Scenario, Variant
from scenarios.stack.paths import LabPaths
from scenarios.stack.stack import PRIMARY, REPLICA, Stack, StackInfo
from scenarios.summary import summarize
from service import schema
from service.config import Settings
from service.domain.venue import capacity, venue_layout

LOCUST_GRACE_S = 60.0
LOCUST_STOP_S = 20.0
HOLD_GRACE_S = 5.0
EXIT_CODES = {Verdict.PASS: 0, Verdict.FAIL: 1, Verdict.UNKNOWN: 3}
EXIT_ERROR, EXIT_INTERRUPTED = 2, 130


@dataclass(frozen=True)
class RunOptions:
    command: str
    runs_dir: Path = rundir.RUNS_DIR
    lab_dir: Path | None = None
    locust_processes: int | None = None
    seed: int = 1
    keep_stack: bool = False
    report: bool = True


@dataclass
class VariantResult:
    name: str
    verdict: Verdict
    report: CheckReport
    summary: dict[str, Any]


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


def machine() -> dict[str, Any]:
    import psutil

    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cores": os.cpu_count(),
        "cpu_model": model,
        "memory_bytes": psutil.virtual_memory().total,
        "load_average": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def code_version() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=10)
        return done.stdout.strip() if done.returncode == 0 else ""

    return {
        "git_sha": git("rev-parse", "HEAD") or None,
        "dirty": bool(git("status", "--porcelain")),
    }


def server_versions(settings: Settings) -> dict[str, str]:
    versions: dict[str, str] = {}
    with (
        contextlib.suppress(Exception),
        schema.connect(settings.db_admin) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT VERSION()")
        versions["mariadb"] = cur.fetchone()[0]
    with contextlib.suppress(Exception):
        import redis

        client = redis.Redis.from_url(settings.redis_url)
        versions["redis"] = client.info("server")["redis_version"]
        client.close()
    return versions


def write_manifest(run_dir: Path, manifest: Mapping[str, Any]) -> None:
    rundir.write_json(run_dir / "manifest.json", manifest)


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


def variant_settings(
    stack: StackInfo, scenario: Scenario, variant: Variant, ports: AppPorts, prefix: str
) -> Settings:
    return stack.settings(
        **scenario.variant_settings(variant),
        key_prefix=prefix,
        public_url=ports.service_url,
        oidc_issuer=ports.idp_url,
        psp_url=ports.psp_url,
    )


def build_workload(
    scenario: Scenario,
    variant: Variant,
    ports: AppPorts,
    concert_ids: list[int],
    out: Path,
    seed: int,
) -> Workload:
    data = {
        "concert_ids": concert_ids,
        "seed": seed,
        **scenario.variant_workload(variant),
        "service_url": ports.service_url,
        "psp_url": ports.psp_url,
        "operations_path": str(out / "operations.jsonl"),
    }
    return parse_workload(data)


async def drive_load(
    workload: Workload,
    workload_path: Path,
    out: Path,
    apps: Apps,
    scenario: Scenario,
    sampler: ProcessSampler,
    progress: Progress,
    options: RunOptions,
    faults: FaultLab,
) -> tuple[float, float, Nemesis]:
    """Locust from start to its own end, with the nemesis, the metrics scraper and the
    replication-lag heartbeat beside it."""
    planned = Plan.of(workload.shape).duration_s if workload.shape is not None else None
    argv = headless_argv(workload, workload_path, processes=options.locust_processes)
    locust = start_locust(argv, out / "logs" / "locust.log")
    sampler.add("locust", locust.pid)
    load_start = time.time()
    progress.enter("load", planned_s=planned)
    nemesis = Nemesis(
        scenario.nemesis, faults.context(apps.ports.psp_url, apps.service_pid, apps.workers)
    )
    lag = LagCsv(out / "lag.csv")
    tasks = [
        asyncio.create_task(nemesis.run(load_start)),
        asyncio.create_task(heartbeat_lag(faults.primary_port, faults.replica_port, lag.add)),
        asyncio.create_task(
            scrape_forever(
                apps.ports.service_url, out / "metrics.jsonl", on_record=progress.metrics
            )
        ),
    ]
    deadline = time.monotonic() + (planned or 0) + LOCUST_GRACE_S
    try:
        while locust.poll() is None:
            if planned is not None and time.monotonic() > deadline:
                progress.log("locust ran past its shape's end; stopping it")
                break
            await asyncio.sleep(0.5)
            progress.refresh()
    finally:
        stop_locust(locust, LOCUST_STOP_S)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        lag.close()
    if locust.returncode not in (0, -signal.SIGTERM, None):
        tail = (out / "logs" / "locust.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"locust exited with {locust.returncode}:\n{tail}")
    return load_start, time.time(), nemesis


def checks_for(
    scenario: Scenario, variant: Variant, settings: Settings, concert_ids: list[int]
) -> list[Check]:
    """The scenario's invariants (inverted where the variant expects a violation) and SLOs.

    A hold may outlive its TTL by the sweeper's grace and interval before anything is wrong.
    """
    venue = scenario.venue
    per_concert = capacity(venue_layout(venue.zones, venue.seats_per_row, venue.rows))
    checks = list(
        invariant_checks(
            scenario.invariants,
            grace_s=settings.sweeper_grace_s + settings.sweeper_interval_s + HOLD_GRACE_S,
            capacity=dict.fromkeys(concert_ids, per_concert),
            expected_violations=variant.expect_violations,
        )
    )
    return checks + [check_slo(slo) for slo in scenario.slos]


def gather_evidence(
    settings: Settings, psp_url: str, history: History, settlement: Any, window: MeasuredWindow
) -> Evidence:
    """The database first (one snapshot), the provider's ledger after: a capture the
    ledger shows but the snapshot does not is then real, never an artefact of read order."""
    db, events = read_snapshot(settings)
    try:
        ledger = read_ledger(psp_url)
    except OSError:
        ledger = None
    return Evidence(
        history=history, db=db, ledger=ledger, events=events, settlement=settlement, window=window
    )


def run_variant(
    run_dir: Path,
    index: int,
    scenario: Scenario,
    variant: Variant,
    stack: StackInfo,
    concert_ids: list[int],
    progress: Progress,
    options: RunOptions,
    run_token: str,
) -> VariantResult:
    out = rundir.variant_dir(run_dir, variant.name)
    ports = AppPorts.choose()
    settings = variant_settings(stack, scenario, variant, ports, f"{run_token}v{index}")
    rundir.write_json(out / "settings.json", {k: str(v) for k, v in vars(settings).items()})
    progress.enter("reset", variant=variant.name)
    schema.reset(settings)
    workload = build_workload(scenario, variant, ports, concert_ids, out, options.seed + index)
    workload_path = write_workload(workload, out / "workload.json")
    apps = Apps(
        LabPaths.at(stack.lab_dir), ports, settings, workers=scenario.workers, seed=options.seed
    )
    sampler = ProcessSampler(
        {name: part.pid for name, part in stack.parts.items() if part.pid is not None}
    )
    faults = FaultLab(apps.paths, stack.parts[PRIMARY].port, stack.parts[REPLICA].port)
    try:
        apps.settings = faults.route(scenario.nemesis, settings)
        progress.enter("start", note=f"{scenario.workers} worker(s), {settings.claim_strategy}")
        apps.start(os.environ)
        for role, pid in apps.pids().items():
            sampler.add(role, pid)
        sampler.start()
        load_start, load_end, nemesis = asyncio.run(
            drive_load(
                workload, workload_path, out, apps, scenario, sampler, progress, options, faults
            )
        )
        merge_parts(out / "operations.jsonl")
        rundir.append_jsonl(out / "operations.jsonl", (f.to_dict() for f in nemesis.records))
        progress.enter("quiesce", planned_s=scenario.quiesce_timeout_s)
        settled = quiesce(
            settings, ports.psp_url, scenario.quiesce_timeout_s, on_wait=progress.waiting
        )
        progress.enter("check")
        history = History.from_jsonl((out / "operations.jsonl").read_text())
        window = MeasuredWindow(load_start + workload.warmup_s, load_end)
        evidence = gather_evidence(settings, ports.psp_url, history, settled.settlement, window)
        report = run_checks(checks_for(scenario, variant, settings, concert_ids), evidence)
    finally:
        sampler.stop()
        progress.enter("stop")
        apps.stop()
        faults.close()
        apps.collect_logs(out / "logs")
        rundir.write_csv(
            out / "resources.csv", rundir.RESOURCE_COLUMNS, (s.row() for s in sampler.samples)
        )
    rundir.write_json(out / "checks.json", report.to_dict())
    bottleneck = generator_bottleneck(sampler.samples)
    booking = report.by_name().get("no-double-booking")
    metrics = booking.metrics if booking is not None else {}
    stats, summary = summarize(
        history,
        load_start=load_start,
        load_end=load_end,
        warmup_s=workload.warmup_s,
        extra={
            "seats_oversold": metrics.get("double_booked_seats"),
            "seats_sold_twice": metrics.get("oversold_seats"),
            "generator_bottleneck": bottleneck.saturated,
            "generator_evidence": bottleneck.evidence,
            "quiesce_s": round(settled.seconds, 3),
            "unsettled": dict(settled.settlement.unsettled),
            "nemesis_errors": nemesis.errors,
            "faults_undone": faults.notes,
            "claim_strategy": settings.claim_strategy,
        },
    )
    rundir.write_csv(out / "stats.csv", rundir.STATS_COLUMNS, stats)
    rundir.write_json(out / "summary.json", summary)
    progress.log(f"{variant.name}: {report.verdict.value}")
    return VariantResult(variant.name, report.verdict, report, summary)


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
    run_token = "r" + started_at.strftime("%H%M%S") + secrets.token_hex(3)
    manifest: dict[str, Any] = {
        "format_version": rundir.FORMAT_VERSION,
        "run_id": run_dir.name,
        "scenario": {"name": scenario.name, "description": scenario.description},
        "status": "running",
        "verdict": Verdict.UNKNOWN.value,
        "started_at": started_at.isoformat(),
        "finished_at": None,
        "command": options.command,
        "rerun_command": options.command,
        "seed": options.seed,
        "variants": [v.name for v in scenario.matrix()],
        "code": code_version(),
        "machine": machine(),
    }
    write_manifest(run_dir, manifest)
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
            base = stack.settings(key_prefix=run_token)
            manifest["servers"] = server_versions(base)
            progress.enter("database", note=f"{capacity_of(scenario)} seats")
            concert_ids = prepare_database(base, scenario)
            for index, variant in enumerate(scenario.matrix()):
                result.variants.append(
                    run_variant(
                        run_dir,
                        index,
                        scenario,
                        variant,
                        stack,
                        concert_ids,
                        progress,
                        options,
                        run_token,
                    )
                )
            result.verdict = combine(v.verdict for v in result.variants)
        except KeyboardInterrupt:
            result.status = "interrupted"
            progress.log("[yellow]interrupted[/]: children stopped")
        except Exception as exc:
            result.status, result.error = "failed", f"{type(exc).__name__}: {exc}"
            progress.log(f"[red]run failed[/]: {result.error}")
        finally:
            if stack is not None and not options.keep_stack and stack.started:
                progress.enter("stack down")
                stack_obj.down()
            manifest.update(
                status=result.status,
                verdict=result.verdict.value,
                finished_at=datetime.now(UTC).isoformat(),
                error=result.error,
            )
            write_manifest(run_dir, manifest)
        if options.report and result.status != "interrupted":
            progress.enter("report")
            write_report(run_dir, progress)
    return result


def capacity_of(scenario: Scenario) -> int:
    venue = scenario.venue
    return capacity(venue_layout(venue.zones, venue.seats_per_row, venue.rows)) * venue.concerts

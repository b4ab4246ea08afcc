"""``ticketlab``: the lab's command line (also ``python -m scenarios.cli``).

    ticketlab list                      the scenario catalog
    ticketlab validate NAME|FILE        check a scenario without running it
    ticketlab run NAME|FILE [options]   run it end to end; prints where its report is
    ticketlab compare RUN [RUN …]       which differences between variants/runs are real
    ticketlab up [--app] | status | down [--purge]

``up`` prints ``export`` lines on stdout and everything else on stderr, so
``eval "$(ticketlab up)"`` points a shell at the stack.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict

from scenarios.stack import PartStatus, Stack, StackError, StackInfo

Handler = Callable[[argparse.Namespace], int]


def cmd_up(args: argparse.Namespace) -> int:
    stack = stack_of(args)
    info = stack.up()
    if stack.reaped:
        note(f"stopped what a killed run left running: {', '.join(stack.reaped)}")
    report_up(info)
    env = info.env()
    if args.app:
        from scenarios.interactive import start_apps

        apps = start_apps(info, args.workers)
        note(
            f"service {apps.ports.service_url}, identity provider {apps.ports.idp_url}, "
            f"payment provider {apps.ports.psp_url} (key prefix {apps.settings.key_prefix}); "
            "`ticketlab down` stops everything"
        )
        env |= {
            "TICKETLAB_SERVICE_URL": apps.ports.service_url,
            "TICKETLAB_PSP_URL": apps.ports.psp_url,
            "TICKETLAB_OIDC_ISSUER": apps.ports.idp_url,
        }
    for variable, value in env.items():
        print(f"export {variable}={shlex.quote(value)}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from scenarios.catalog import catalog_names, load_scenario

    for name in catalog_names():
        scenario = load_scenario(name)
        variants = ", ".join(v.name for v in scenario.matrix())
        print(f"{name:<16} {scenario.description}")
        print(f"{'':<16} variants: {variants}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    from scenarios.catalog import load_scenario

    scenario = load_scenario(args.scenario)
    problems = scenario.problems()
    if problems:
        print(f"{args.scenario}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
        return 2
    print(f"{args.scenario}: ok ({len(scenario.matrix())} variant(s))")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from scenarios.catalog import load_scenario
    from scenarios.overrides import Overrides, apply_overrides
    from scenarios.runner import RunOptions, run_scenario
    from scenarios.stack.info import SERVER_PARTS
    from scenarios.stack.paths import LabPaths
    from scenarios.stack.reaper import interrupted_by_sigterm, owning

    overrides = Overrides(
        duration_s=args.duration,
        users=args.users,
        time_scale=args.time_scale,
        variants=tuple(v for v in (args.variants or "").split(",") if v),
    )
    scenario = apply_overrides(load_scenario(args.scenario), overrides)
    if args.profile is not None:
        scenario = dataclasses.replace(scenario, profile=args.profile)
    if args.native:
        scenario = dataclasses.replace(scenario, profile_native=True)
    scenario.validate()
    options = RunOptions(
        command=" ".join(["ticketlab", *(args.argv or [])]),
        runs_dir=Path(args.runs_dir),
        lab_dir=Path(args.lab_dir) if args.lab_dir else None,
        locust_processes=args.processes,
        seed=args.seed,
        keep_stack=args.keep_stack,
        report=not args.no_report,
    )
    paths = LabPaths.at(options.lab_dir)
    with interrupted_by_sigterm(), owning(paths, keep=SERVER_PARTS if args.keep_stack else ()):
        result = run_scenario(scenario, options)
    for variant in result.variants:
        print(
            f"{variant.name:<14} {variant.verdict.value:<8} "
            + "; ".join(f"{r.name}: {r.verdict.value}" for r in variant.report.results)
        )
        if cut := variant.summary.get("load_cut_short"):
            print(
                f"{'':<14} load cut short: ran {cut['ran_s']:g} s of a planned "
                f"{cut['planned_s']:g} s ({cut['reason']})"
            )
    if result.error:
        print(f"run failed: {result.error}", file=sys.stderr)
    report = result.run_dir / "report.html"
    print(f"verdict: {result.verdict.value} ({result.status})")
    print(f"report: {report if report.exists() else result.run_dir}")
    return result.exit_code


def cmd_compare(args: argparse.Namespace) -> int:
    from reports import RunDirError
    from reports.build import compare

    try:
        page, comparison = compare(args.runs, args.out)
    except RunDirError as exc:
        print(f"ticketlab compare: {exc}", file=sys.stderr)
        return 2
    for warning in comparison.warnings:
        print(f"warning: {warning}")
    for line in comparison.sentences():
        print(line)
    print(f"report: {page}")
    return 0


def report_up(info: StackInfo) -> None:
    if info.already_running:
        note(f"stack already running in {info.lab_dir}")
    else:
        note(f"started {', '.join(info.started)} in {info.seconds:.1f} s ({info.lab_dir})")
    for record in info.parts.values():
        owner = "lab" if record.owned else "given"
        pid = f"pid {record.pid}" if record.pid else "-"
        note(f"  {record.name:<9} {owner:<6} {pid:<10} {record.url}")


def cmd_status(args: argparse.Namespace) -> int:
    parts = stack_of(args).status()
    if args.json:
        print(json.dumps([asdict(p) | {"healthy": p.healthy} for p in parts], indent=2))
    elif not parts:
        print("stack is down (nothing recorded in the lab directory)")
    else:
        for line in status_lines(parts):
            print(line)
    return 0 if parts and all(p.healthy for p in parts) else 1


STATUS_COLUMNS = ("part", "state", "owner", "pid", "threads", "answering", "url")


def status_lines(parts: Sequence[PartStatus]) -> list[str]:
    """One aligned row per part under a header, each part's details indented below it."""
    rows = [
        (
            p.name,
            "ok" if p.healthy else "DOWN",
            "lab" if p.owned else "given",
            "-" if p.pid is None else f"{p.pid} ({'alive' if p.pid_alive else 'dead'})",
            "-" if p.threads is None else str(p.threads),
            "yes" if p.answering else "no",
            p.url,
        )
        for p in parts
    ]
    widths = [max(len(row[i]) for row in [STATUS_COLUMNS, *rows]) for i in range(6)]

    def line(row: Sequence[str]) -> str:
        cells = [cell.ljust(width) for cell, width in zip(row[:6], widths, strict=True)]
        return "  ".join([*cells, row[6]])

    lines = [line(STATUS_COLUMNS)]
    for part, row in zip(parts, rows, strict=True):
        lines.append(line(row))
        lines.extend(f"    {key}: {value}" for key, value in part.detail.items())
    return lines


def cmd_down(args: argparse.Namespace) -> int:
    stack = stack_of(args)
    stopped = stack.down()
    note(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
    if args.purge:
        vhost = stack.purge()
        note(f"lab directory {stack.paths.root} removed" + (f"; {vhost}" if vhost else ""))
    return 0


def stack_of(args: argparse.Namespace) -> Stack:
    return Stack(args.lab_dir)


def note(message: str) -> None:
    print(message, file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ticketlab", description="The ticketlab load-testing and chaos lab."
    )
    parser.add_argument(
        "--lab-dir",
        help="where the lab keeps servers, data, logs and pid files"
        " (default: $TICKETLAB_LAB_DIR or <project>/.lab)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = sub.add_parser("list", help="the scenario catalog")
    listing.set_defaults(handler=cmd_list)

    validate = sub.add_parser("validate", help="check a scenario (name or file) without running")
    validate.add_argument("scenario", help="a catalog name or a path to a scenario file")
    validate.set_defaults(handler=cmd_validate)

    run = sub.add_parser("run", help="run a scenario end to end and write its report")
    run.add_argument("scenario", help="a catalog name (ticketlab list) or ./my_scenario.py")
    run.add_argument("--duration", type=positive_float, help="seconds of load (constant shapes)")
    run.add_argument("--users", type=positive_int, help="peak number of users")
    run.add_argument("--time-scale", type=positive_float, help="stretch or shrink the shape")
    run.add_argument("--variants", help="comma-separated variants to run, in order")
    run.add_argument("--processes", type=positive_int, help="Locust processes (default 1)")
    run.add_argument("--seed", type=int, default=1, help="random seed of the load (default 1)")
    run.add_argument("--runs-dir", default="runs", help="where run directories go")
    run.add_argument(
        "--profile",
        choices=("py-spy", "memray"),
        help="profile the service's workers: py-spy flame graphs, or memray allocations",
    )
    run.add_argument("--native", action="store_true", help="with --profile: native (C) frames too")
    run.add_argument(
        "--keep-stack",
        action="store_true",
        help="leave servers this run started running afterwards",
    )
    run.add_argument("--no-report", action="store_true", help="skip report.html")
    run.set_defaults(handler=cmd_run)

    compare = sub.add_parser(
        "compare", help="which differences between runs (or one run's variants) are significant"
    )
    compare.add_argument("runs", nargs="+", metavar="RUN", help="run directories (runs/…)")
    compare.add_argument("--out", help="where to write the page (default runs/compare-….html)")
    compare.set_defaults(handler=cmd_compare)

    up = sub.add_parser(
        "up", help="start MariaDB primary+replica, Redis, RabbitMQ vhost, InfluxDB (if installed)"
    )
    up.add_argument(
        "--app",
        action="store_true",
        help="also start the service and both providers, for interactive use",
    )
    up.add_argument("--workers", type=positive_int, default=1, help="service workers (--app)")
    up.set_defaults(handler=cmd_up)

    status = sub.add_parser("status", help="show each part: pid, port, replica lag")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    status.set_defaults(handler=cmd_status)

    down = sub.add_parser("down", help="stop everything the lab started, leftovers included")
    down.add_argument(
        "--purge", action="store_true", help="also delete data directories and the lab's vhost"
    )
    down.set_defaults(handler=cmd_down)
    return parser


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    from scenarios.catalog import UnknownScenario
    from scenarios.spec import ScenarioError
    from service.config import ConfigError

    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    handler: Handler = args.handler
    try:
        return handler(args)
    except (UnknownScenario, ScenarioError, ConfigError) as exc:
        print(f"ticketlab {args.command}: {exc}", file=sys.stderr)
        return 2
    except StackError as exc:
        print(f"ticketlab {args.command}: {exc}", file=sys.stderr)
        if args.command == "up" and not sys.stdout.isatty():
            print("false")  # so `eval "$(ticketlab up)"` fails too, and `set -e` stops there
        return 1
    except KeyboardInterrupt:
        print(f"ticketlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

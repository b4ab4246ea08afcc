"""``ticketlab``: the lab's command line (``python -m scenarios.cli`` until it is installed).

``up`` prints ``export`` lines on stdout and everything else on stderr, so
``eval "$(ticketlab up)"`` points a shell at the stack. Subcommands live in ``COMMANDS``;
``list``, ``run`` and ``validate`` join them with the scenario runner.
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
    # ``--app`` (service workers and providers as children, for ``nox -s locust``) belongs
    # here once the runner can start them: Stack.up() gains the app parts, this a flag.
    info = stack_of(args).up()
    report_up(info)
    for variable, value in info.env().items():
        print(f"export {variable}={shlex.quote(value)}")
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


def status_lines(parts: Sequence[PartStatus]) -> list[str]:
    lines = []
    for p in parts:
        verdict = "ok" if p.healthy else "DOWN"
        pid = "-" if p.pid is None else f"{p.pid} ({'alive' if p.pid_alive else 'dead'})"
        answer = "answering" if p.answering else "not answering"
        owner = "lab" if p.owned else "given"
        lines.append(f"{p.name:<9} {verdict:<4} {owner:<6} pid {pid:<16} {answer:<14} {p.url}")
        lines.extend(f"{'':<15}{key}: {value}" for key, value in p.detail.items())
    return lines


def cmd_down(args: argparse.Namespace) -> int:
    stopped = stack_of(args).down(purge=args.purge)
    note(f"stopped {', '.join(stopped)}" if stopped else "nothing was running")
    if args.purge:
        note("lab directory and vhost removed")
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

    up = sub.add_parser("up", help="start MariaDB primary+replica, Redis, RabbitMQ vhost")
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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    try:
        return handler(args)
    except StackError as exc:
        print(f"ticketlab {args.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"ticketlab {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

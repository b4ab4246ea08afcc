"""``python -m service``: serve the API, or administer the schema.

    python -m service [serve] [--host H] [--port P] [--workers N]
    python -m service migrate
    python -m service seed [--concerts N] [--zones Z] [--rows R] [--seats-per-row S]
    python -m service reset

Serving lives in ``service/server.py``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from service.config import ConfigError, Settings


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m service", description=__doc__.split("\n")[0])
    parser.add_argument(
        "command", nargs="?", default="serve", choices=["serve", "migrate", "seed", "reset"]
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--concerts", type=int, default=1, help="seed: how many concerts")
    parser.add_argument("--zones", type=int, default=26, help="seed: zones per venue (1-26)")
    parser.add_argument("--rows", type=int, default=None, help="seed: at most this many rows")
    parser.add_argument("--seats-per-row", type=int, default=100, help="seed: seats per row")
    parser.add_argument("--base-price", type=int, default=50_000, help="seed: ECONOMY price")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    if not 0 < args.port < 65536:
        parser.error(f"--port must be between 1 and 65535, got {args.port}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
    except ConfigError as exc:
        print(f"python -m service: {exc}", file=sys.stderr)
        return 2
    from service import schema

    if args.command == "migrate":
        applied = schema.migrate(settings)
        print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
        return 0
    if args.command == "seed":
        from service.domain.venue import venue_layout

        try:
            layout = venue_layout(args.zones, args.seats_per_row, args.rows)
        except ValueError as exc:
            print(f"python -m service seed: {exc}", file=sys.stderr)
            return 2
        result = schema.seed(
            settings, concerts=args.concerts, layout=layout, base_price=args.base_price
        )
        print(
            f"seeded concerts {result.concert_ids}: {result.seats} seats in {result.seconds:.2f}s"
        )
        return 0
    if args.command == "reset":
        schema.reset(settings)
        print("bookings emptied, every seat available")
        return 0
    from service.server import serve

    try:
        return serve(settings, args.host, args.port, args.workers)
    except ConfigError as exc:  # refused before anything started, e.g. the public JWT secret
        print(f"python -m service: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

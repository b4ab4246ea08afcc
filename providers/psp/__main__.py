"""Run the payment provider alone: ``python -m providers.psp --port 9100 --webhook-url URL``.

See ``providers/psp/__init__.py`` for the endpoints and ``faults.py`` for the faults schema.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from aiohttp import web

from providers.psp.app import create_app
from providers.psp.config import PspConfig
from providers.psp.faults import Faults, FaultsError


def parse_args(argv: list[str] | None = None) -> PspConfig:
    parser = argparse.ArgumentParser(
        prog="python -m providers.psp", description="A Toss-like payment provider simulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--webhook-url", default="", help="where PAYMENT_STATUS_CHANGED goes")
    parser.add_argument("--secret-key", default="test_sk_ticketlab")
    parser.add_argument(
        "--webhook-secret", default="", help="HMAC key for webhook signatures (default: secret key)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies webhook retry intervals (Toss: 1, 4, 16 … 4096 minutes)",
    )
    parser.add_argument("--seed", type=int, default=None, help="seed for fault decisions")
    parser.add_argument(
        "--keepalive-s",
        type=float,
        default=75.0,
        help="seconds an idle keep-alive connection stays open (aiohttp's default: 75)",
    )
    parser.add_argument("--checkout-ttl", type=float, default=600.0, help="seconds until EXPIRED")
    faults = parser.add_mutually_exclusive_group()
    faults.add_argument("--faults", default=None, help="faults as a JSON object")
    faults.add_argument("--faults-file", type=Path, default=None, help="faults in a JSON file")
    args = parser.parse_args(argv)
    try:
        if args.faults_file is not None:
            fault_set = Faults.from_text(args.faults_file.read_text())
        elif args.faults is not None:
            fault_set = Faults.from_text(args.faults)
        else:
            fault_set = Faults()
        return PspConfig(
            host=args.host,
            port=args.port,
            webhook_url=args.webhook_url,
            secret_key=args.secret_key,
            webhook_secret=args.webhook_secret,
            time_scale=args.time_scale,
            seed=args.seed,
            faults=fault_set,
            checkout_ttl_s=args.checkout_ttl,
            keepalive_s=args.keepalive_s,
        )
    except (FaultsError, ValueError, OSError) as exc:
        parser.error(str(exc))


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s psp %(levelname)s %(message)s")
    web.run_app(
        create_app(config),
        host=config.host,
        port=config.port,
        print=lambda text: print(text, file=sys.stderr),
        shutdown_timeout=5.0,
        keepalive_timeout=config.keepalive_s,
    )


if __name__ == "__main__":
    main()

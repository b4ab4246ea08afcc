"""``python -m scenarios.faults.proxy``: the lab's fault proxy, driven by Toxiproxy's HTTP API.

    python -m scenarios.faults.proxy [--listen 127.0.0.1:8474] [--config proxies.json]

``--config`` takes the JSON array Toxiproxy's ``-config`` takes (name, listen, upstream,
enabled) and creates those proxies at start. The API listens on loopback only: whoever
reaches it can cut any connection the lab routes through it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from scenarios.faults.api import build_app
from scenarios.faults.proxies import Collection, split_address
from scenarios.faults.toxics import ApiError

DEFAULT_LISTEN = "127.0.0.1:8474"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m scenarios.faults.proxy", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--listen", default=DEFAULT_LISTEN, help="the API's host:port")
    parser.add_argument("--config", type=Path, help="a JSON array of proxies to create at start")
    parser.add_argument("--seed", type=int, default=None, help="seed for toxicity and jitter")
    args = parser.parse_args(argv)
    try:
        host, port = split_address(args.listen, "--listen")
    except ApiError as exc:
        parser.error(exc.message.removeprefix("bad request body: "))
    if host not in LOOPBACK_HOSTS:
        parser.error(f"--listen must be a loopback address, got {args.listen!r}")
    args.host, args.port = host, port
    if args.config is not None:
        try:
            args.proxies = json.loads(args.config.read_text())
        except (OSError, ValueError) as exc:
            parser.error(f"--config {args.config}: {exc}")
    else:
        args.proxies = []
    return args


async def serve(args: argparse.Namespace) -> int:
    proxies = Collection(random.Random(args.seed))
    try:
        await proxies.populate(args.proxies)
    except ApiError as exc:
        print(f"python -m scenarios.faults.proxy: --config: {exc.message}", file=sys.stderr)
        return 2
    runner = web.AppRunner(build_app(proxies), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port, reuse_address=True)
    try:
        await site.start()
    except OSError as exc:
        print(f"python -m scenarios.faults.proxy: {args.listen}: {exc.strerror}", file=sys.stderr)
        await runner.cleanup()
        return 2
    print(f"fault proxy API on http://{args.host}:{args.port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await runner.cleanup()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:  # libuv's loop moves bytes with less Python per chunk: the proxy's overhead shrinks
        import uvloop
    except ImportError:
        return asyncio.run(serve(args))
    return uvloop.run(serve(args))


if __name__ == "__main__":
    sys.exit(main())

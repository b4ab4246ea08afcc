"""``python -m providers.idp --port 9000 [--host H] [--issuer URL] [--client ID:SECRET:PREFIX]``.

Without ``--issuer`` the issuer is ``http://HOST:PORT``, which with the defaults is what the
service's ``TICKETLAB_OIDC_ISSUER`` expects; without ``--client`` the service's default
client (``ticketlab`` / ``ticketlab-secret``, redirects to ``http://127.0.0.1:*``) is known.
"""

from __future__ import annotations

import argparse
import logging
import sys

from aiohttp import web

from providers.idp.app import create_app
from providers.idp.config import DEFAULT_CLIENT, Client, IdpConfig


def parse_args(argv: list[str] | None = None) -> tuple[argparse.Namespace, IdpConfig]:
    parser = argparse.ArgumentParser(prog="python -m providers.idp", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--issuer", help="public base URL (default http://HOST:PORT)")
    parser.add_argument(
        "--client",
        action="append",
        metavar="ID:SECRET:REDIRECT_URI_PREFIX",
        help=f"a trusted client; repeatable (default {DEFAULT_CLIENT})",
    )
    parser.add_argument("--code-ttl", type=float, default=60.0, help="seconds a code is valid")
    parser.add_argument("--id-token-ttl", type=int, default=3600, help="id_token lifetime (s)")
    args = parser.parse_args(argv)
    try:
        clients = tuple(Client.parse(spec) for spec in (args.client or [DEFAULT_CLIENT]))
        config = IdpConfig(
            issuer=args.issuer or f"http://{args.host}:{args.port}",
            clients=clients,
            code_ttl_s=args.code_ttl,
            id_token_ttl_s=args.id_token_ttl,
        )
    except ValueError as exc:
        parser.error(str(exc))
    return args, config


def main(argv: list[str] | None = None) -> int:
    args, config = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger(__name__).info(
        "identity provider %s, clients: %s",
        config.issuer,
        ", ".join(f"{c.client_id} -> {c.redirect_prefix}*" for c in config.clients),
    )
    web.run_app(create_app(config), host=args.host, port=args.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Finding the servers' binaries, including in the sbin folders a non-root PATH lacks."""

from __future__ import annotations

import os
import shutil

from scenarios.stack.errors import MissingBinary

PACKAGES = {
    "mariadbd": "mariadb-server",
    "mariadb-install-db": "mariadb-server",
    "redis-server": "redis-server",
    "rabbitmq-server": "rabbitmq-server",
    "rabbitmqctl": "rabbitmq-server",
    "influxd": "influxdb",
}

# Debian puts mariadbd and rabbitmqctl in /usr/sbin, which is not on a user's PATH.
SBIN_DIRS = ("/usr/local/sbin", "/usr/sbin", "/sbin")


def default_search_path() -> str:
    dirs = os.environ.get("PATH", os.defpath).split(os.pathsep)
    return os.pathsep.join([*dirs, *(d for d in SBIN_DIRS if d not in dirs)])


def find_binary(name: str, search_path: str | None = None) -> str | None:
    """The binary's path, or None. ``search_path`` replaces the default lookup entirely."""
    path = default_search_path() if search_path is None else search_path
    if not path:
        return None
    return shutil.which(name, path=path)


def require_binary(name: str, search_path: str | None = None) -> str:
    found = find_binary(name, search_path)
    if found is None:
        raise MissingBinary(name, PACKAGES.get(name, name))
    return found

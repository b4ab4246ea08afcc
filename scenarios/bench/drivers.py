"""A bare pool of the bench's baseline on the driver named: ``aiomysql`` (pure Python,
the service's) or ``asyncmy`` (the same protocol in Cython), with the same settings."""

from __future__ import annotations

from typing import Any

from service.config import Settings

DRIVERS = ("aiomysql", "asyncmy")


async def open_pool(driver: str, settings: Settings, size: int) -> Any:
    url = settings.db
    common = {
        "host": url.host,
        "port": url.port,
        "user": url.user,
        "password": url.password,
        "db": url.database,
        "minsize": size,
        "maxsize": size,
        "autocommit": False,
        "init_command": "SET time_zone = '+00:00'",
    }
    if driver == "aiomysql":
        import aiomysql

        return await aiomysql.create_pool(charset="utf8mb4", **common)
    if driver == "asyncmy":
        import asyncmy

        return await asyncmy.create_pool(charset="utf8mb4", **common)
    raise ValueError(f"unknown driver {driver!r}; known: {', '.join(DRIVERS)}")

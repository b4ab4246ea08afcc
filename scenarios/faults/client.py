"""A small client of the Toxiproxy 2.x API (the lab's fault proxy, or a real Toxiproxy).

Synchronous on purpose: the lab calls it while setting up, and the nemesis from a thread,
so one client serves both without an event loop of its own.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

TIMEOUT_S = 10.0


class ProxyApiError(RuntimeError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"fault proxy answered {status}: {message}")
        self.status = status


@dataclass(frozen=True)
class ToxiproxyClient:
    url: str  # http://127.0.0.1:8474

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "User-Agent": "ticketlab"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                text = answer.read().decode()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")
            with contextlib.suppress(ValueError, AttributeError):
                detail = json.loads(detail).get("error", detail)
            raise ProxyApiError(exc.code, detail) from None
        return json.loads(text) if text.strip() else None

    def version(self) -> str:
        return str(self.call("GET", "/version")["version"])

    def proxies(self) -> dict[str, Any]:
        return self.call("GET", "/proxies")

    def create(self, name: str, upstream: str, listen: str = "127.0.0.1:0") -> dict[str, Any]:
        return self.call("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream})

    def set_enabled(self, name: str, enabled: bool) -> dict[str, Any]:
        return self.call("POST", f"/proxies/{name}", {"enabled": enabled})

    def add_toxic(self, proxy: str, toxic: dict[str, Any]) -> dict[str, Any]:
        return self.call("POST", f"/proxies/{proxy}/toxics", toxic)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self.call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def reset(self) -> None:
        self.call("POST", "/reset")


def listen_port(proxy: dict[str, Any]) -> int:
    return int(str(proxy["listen"]).rsplit(":", 1)[1])

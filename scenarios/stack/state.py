"""The state file: what the last ``up`` started, on which ports, with which URLs.

``status`` and ``down`` read it, and ``up`` reuses its ports so exported URLs stay valid
across restarts. It is advisory: the pid files in ``run/`` are what ``down`` trusts to
find processes, so a state file lost with a killed run still leaves nothing behind.
The RabbitMQ vhost is the exception: ``down`` keeps its record (``vhost``: name, broker
URL, node, and whether the lab created it), so ``down --purge`` later can still delete it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

from scenarios.stack.paths import LabPaths

FORMAT_VERSION = 1


@dataclass
class PartRecord:
    """One part of the stack; ``owned`` is false for a server the lab only uses (given URL)."""

    name: str
    url: str
    port: int | None = None
    pid: int | None = None
    owned: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class LabState:
    parts: dict[str, PartRecord] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    vhost: dict[str, Any] = field(default_factory=dict)

    def port_of(self, part: str) -> int | None:
        record = self.parts.get(part)
        return record.port if record else None

    def to_json(self) -> str:
        body = {
            "format": FORMAT_VERSION,
            "parts": {name: asdict(p) for name, p in self.parts.items()},
            "urls": self.urls,
            "vhost": self.vhost,
        }
        return json.dumps(body, indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> LabState:
        body = json.loads(text)
        if body.get("format") != FORMAT_VERSION:
            return cls()
        parts = {name: PartRecord(**raw) for name, raw in body.get("parts", {}).items()}
        return cls(parts=parts, urls=dict(body.get("urls", {})), vhost=dict(body.get("vhost", {})))


def load_state(paths: LabPaths) -> LabState:
    """The recorded state, or an empty one when there is none or it cannot be read."""
    try:
        return LabState.from_json(paths.state_file.read_text())
    except (OSError, ValueError, TypeError):
        return LabState()


def save_state(paths: LabPaths, state: LabState) -> None:
    """Write atomically, so a run killed mid-write never leaves half a file behind."""
    paths.root.mkdir(parents=True, exist_ok=True)
    tmp = paths.state_file.with_suffix(".tmp")
    tmp.write_text(state.to_json())
    os.replace(tmp, paths.state_file)


def clear_state(paths: LabPaths, *, keep_vhost: bool = False) -> None:
    """Forget the stack; ``keep_vhost`` keeps the vhost's record for a later purge."""
    vhost = load_state(paths).vhost if keep_vhost else {}
    if vhost:
        save_state(paths, LabState(vhost=vhost))
    else:
        paths.state_file.unlink(missing_ok=True)

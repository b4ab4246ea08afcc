"""Where the lab keeps its files: everything under one lab directory, ``<project>/.lab``.

Unix sockets are the exception: their paths are limited to 108 bytes, so when the lab
directory is deep they move to a short folder under /tmp named after it.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

SOCKET_PATH_LIMIT = 100  # sun_path is 108 bytes; leave room for the terminating NUL and slack
LAB_DIR_VARIABLE = "TICKETLAB_LAB_DIR"


def project_root() -> Path:
    """The checkout that holds this package when it is installed editable, else the cwd."""
    here = Path(__file__).resolve().parents[2]
    return here if (here / "pyproject.toml").is_file() else Path.cwd()


def default_lab_dir() -> Path:
    override = os.environ.get(LAB_DIR_VARIABLE)
    return Path(override) if override else project_root() / ".lab"


@dataclass(frozen=True)
class LabPaths:
    root: Path

    @classmethod
    def at(cls, lab_dir: str | os.PathLike[str] | None = None) -> LabPaths:
        root = Path(lab_dir) if lab_dir is not None else default_lab_dir()
        return cls(root.expanduser().resolve())

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def run_dir(self) -> Path:
        """Pid files: one per process the lab started, so a killed run's leftovers are found."""
        return self.root / "run"

    @property
    def log_dir(self) -> Path:
        return self.root / "logs"

    def data_dir(self, part: str) -> Path:
        return self.root / "data" / part

    def pid_file(self, part: str) -> Path:
        return self.run_dir / f"{part}.pid"

    def log_file(self, part: str) -> Path:
        return self.log_dir / f"{part}.log"

    @property
    def shared_dir(self) -> Path:
        """A short /tmp folder named after the lab: for sockets of a deep lab directory, and
        files a server running as another user must read (the lab may sit in a private dir)."""
        digest = hashlib.sha1(str(self.root).encode()).hexdigest()[:12]
        return Path("/tmp") / f"ticketlab-{digest}"

    @property
    def socket_dir(self) -> Path:
        if len(str(self.run_dir / "replica.sock")) <= SOCKET_PATH_LIMIT:
            return self.run_dir
        return self.shared_dir

    def socket(self, part: str) -> Path:
        return self.socket_dir / f"{part}.sock"

    def make(self) -> None:
        for folder in (self.root, self.run_dir, self.log_dir, self.socket_dir):
            folder.mkdir(parents=True, exist_ok=True)

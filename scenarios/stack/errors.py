"""Errors the stack raises; each message says what to do next, not only what failed."""

from __future__ import annotations


class StackError(RuntimeError):
    """A part of the stack could not be started, reached or stopped."""


class MissingBinary(StackError):
    """A server binary is not installed; the message names the Debian package to install."""

    def __init__(self, binary: str, package: str) -> None:
        self.binary = binary
        self.package = package
        super().__init__(
            f"{binary} was not found on this machine: install the Debian package {package}"
            f" (sudo apt-get install {package})"
        )

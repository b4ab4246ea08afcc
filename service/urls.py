"""What the settings need to know about URLs and hosts, apart from the settings themselves.

Whether an address is this machine decides if public secrets are only a warning
(``Settings.check_for_serving``); a URL's password must never be written down with the
settings (``Settings.public``). Plain text in, plain answers out: no setting, no I/O.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

MASK = "***"
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s]*):[^/?#\s]*@")


def without_password(text: str) -> str:
    """``text`` with the password of any ``scheme://user:password@`` in it replaced by ***."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}:{MASK}@", text)


def is_loopback_url(url: str) -> bool:
    """Whether ``url``'s host is this machine: ``localhost``, 127.0.0.0/8 or ``::1``.

    Anything unparseable or without a host counts as not loopback, so doubt refuses.
    """
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return False
    return is_loopback_host(host or "")


def is_loopback_host(host: str) -> bool:
    """Whether a host name or address (``::1`` with or without brackets) is this machine.

    ``0.0.0.0`` and ``::`` mean every interface, so they are not loopback.
    """
    host = host.strip("[]")
    if not host:
        return False
    if host.rstrip(".") == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback

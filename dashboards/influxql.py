"""How Grafana turns a panel's raw InfluxQL into the query InfluxDB runs, done in Python.

Grafana cannot be installed on the lab's machine, so the dashboard tests do Grafana's part:
they expand each panel's query with the dashboard's variables and run it against a real
InfluxDB. The rules are Grafana's for the InfluxDB data source:

- ``$timeFilter`` becomes ``time >= <from>ms and time <= <to>ms``;
- ``$__interval`` becomes the panel's interval (``1s``), ``$__interval_ms`` its milliseconds;
- a template variable used as ``/^$run$/`` becomes its value regex-escaped, or several
  values as ``(a|b)`` — which is why the dashboards match variables with ``=~ /^$var$/``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_REGEX_SPECIAL = re.compile(r"[\\^$*+?.()|{}\[\]/]")
_VARIABLE = re.compile(r"\$(\w+)|\$\{(\w+)\}|\[\[(\w+)\]\]")
INTERVAL_UNITS_MS = {"ms": 1, "s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def regex_escape(value: str) -> str:
    return _REGEX_SPECIAL.sub(lambda m: "\\" + m.group(0), value)


def variable_value(values: Sequence[str]) -> str:
    """A variable's text inside a ``/…/`` regex, as Grafana formats it for InfluxDB."""
    escaped = [regex_escape(v) for v in values]
    return escaped[0] if len(escaped) == 1 else "(" + "|".join(escaped) + ")"


def interval_ms(interval: str) -> int:
    match = re.fullmatch(r"(\d+)(ms|s|m|h|d)", interval)
    if match is None:
        raise ValueError(f"interval {interval!r}: expected a number and ms, s, m, h or d")
    return int(match.group(1)) * INTERVAL_UNITS_MS[match.group(2)]


def expand(
    query: str,
    variables: Mapping[str, Sequence[str]],
    *,
    start_ms: int,
    end_ms: int,
    interval: str = "1s",
) -> str:
    """``query`` as Grafana would send it; an unknown ``$name`` is an error, not left in."""
    builtins = {
        "timeFilter": f"time >= {start_ms}ms and time <= {end_ms}ms",
        "__interval": interval,
        "__interval_ms": str(interval_ms(interval)),
    }

    def substitute(match: re.Match[str]) -> str:
        name = next(g for g in match.groups() if g)
        if name in builtins:
            return builtins[name]
        if name not in variables or not variables[name]:
            raise KeyError(f"the query uses ${name}, which has no value: {query}")
        return variable_value(variables[name])

    return _VARIABLE.sub(substitute, query)

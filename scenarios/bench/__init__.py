"""``nox -s bench``: measurements of this machine, each a ratio to a baseline run beside it.

A measurement is one module under ``scenarios/bench/measurements/`` with a function
registered by ``@measurement(name)`` (``registry.py``). It takes a ``BenchContext``
(``context.py``: the size, the lab to start services in, the HTTP load generator, the
output directory) and returns ``Row``s (``rows.py``): what was measured, the variant, the
value, the baseline measured in the same call, and notes. Absolute numbers depend on the
machine and its load; the ratio to a baseline measured minutes apart on the same machine
is what a reader compares across runs.

The run writes ``runs/bench-<timestamp>/``:

- ``bench.json``: ``{"format": 1, "started_at", "size", "machine", "code", "generator",
  "measurements": [names], "rows": [Row.to_dict()], "errors": {name: message}}``;
- ``bench.md``: the same rows as a Markdown table (measurement, variant, value, baseline,
  ratio, notes), which the command also prints;
- ``logs/``: the logs of every service the measurements started.
"""

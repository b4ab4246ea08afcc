"""``python -m dashboards [--check]``: regenerate the Grafana files, or check them.

Prints each file written (or, with ``--check``, each stale one and exits 1).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from dashboards.generate import ROOT, stale, write


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 when a generated file is out of date"
    )
    args = parser.parse_args(argv)
    if args.check:
        out_of_date = stale()
        for path in out_of_date:
            print(f"out of date: {path}")
        return 1 if out_of_date else 0
    written = write()
    for path in written:
        print(f"wrote {path}")
    if not written:
        print(f"up to date: {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

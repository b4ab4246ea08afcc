"""The command line: one run's report, or several runs compared.

    python -m reports RUN_DIR [--out FILE]
    python -m reports compare RUN_DIR RUN_DIR … [--out FILE]

Prints the written file's path, so scripts (and the runner) can pick it up. A path that is not
a readable run directory is a usage error: a message naming it, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from reports.build import build_comparison, build_report
from reports.rundir import RunDirError

USAGE_ERROR = 2


def _parser(compare: bool) -> argparse.ArgumentParser:
    if compare:
        parser = argparse.ArgumentParser(
            prog="python -m reports compare",
            description="Put runs (and their variants) side by side in one HTML page.",
        )
        parser.add_argument("run_dirs", nargs="+", type=Path, metavar="RUN_DIR")
        parser.add_argument("--out", type=Path, help="where to write (default runs/compare-…)")
    else:
        parser = argparse.ArgumentParser(
            prog="python -m reports",
            description="Write a run's self-contained HTML report. "
            "Use 'python -m reports compare RUN_DIR RUN_DIR …' to compare runs.",
        )
        parser.add_argument("run_dir", type=Path, metavar="RUN_DIR")
        parser.add_argument("--out", type=Path, help="where to write (default RUN_DIR/report.html)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    compare = bool(args_list) and args_list[0] == "compare"
    args = _parser(compare).parse_args(args_list[1:] if compare else args_list)
    try:
        if compare:
            path = build_comparison(args.run_dirs, args.out)
        else:
            path = build_report(args.run_dir, args.out)
    except RunDirError as exc:
        print(f"reports: {exc}", file=sys.stderr)
        return USAGE_ERROR
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

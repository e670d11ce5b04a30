"""The command line: `evalharness run | grade | report | compare | cache | schema`.

A thin shell over library calls. This is the one place that catches `UserError`: it prints
`evalharness: error: <message>` on stderr and exits 1, without a traceback. The terminal output (progress
bar, summary lines) and the exit-code policy live here too. Every command imports its machinery inside its
handler, so `--help` and argument errors answer without loading httpx, sympy or matplotlib.
"""

from __future__ import annotations

import sys

from evalharness.errors import UserError
from evalharness.cli.parser import build_parser

__all__ = ["main", "build_parser"]


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"evalharness: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("evalharness: interrupted; answers obtained so far are kept (run directory and cache)", file=sys.stderr)
        return 130

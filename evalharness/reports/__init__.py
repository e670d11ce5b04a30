"""Reports and comparisons of run directories: `write_report` (report.html + plots) and `compare_runs`.

Importing this package is cheap: matplotlib, numpy and scipy are imported inside the functions that draw or
test, so `evalharness --help` and `run` do not pay for them until a report is written.
"""

from __future__ import annotations

from pathlib import Path


def write_report(run_dirs: list[Path], out_dir: Path | None = None) -> Path:
    """Write report.html and plots/*.png for the run directories; returns the report.html path."""
    from evalharness.reports.report import write_report as _write

    return _write(run_dirs, out_dir)


def compare_runs(run_dirs: list[Path], out_dir: Path | None, fail_if_worse: bool, alpha: float) -> int:
    """Paired comparison of later runs against the first: prints a table, writes compare.html, returns the exit
    code (1 when `fail_if_worse` and a later run is significantly worse at level `alpha`, else 0)."""
    from evalharness.reports.compare import compare_runs as _compare

    return _compare(run_dirs, out_dir, fail_if_worse, alpha)

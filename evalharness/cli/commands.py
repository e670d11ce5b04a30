"""The offline commands: `grade`, `report`, `compare`, `cache`, `runs`, `schema`."""

from __future__ import annotations

import json
from typing import Any

from evalharness.cli.common import cache_path
from evalharness.errors import UserError


def cmd_grade(args) -> int:
    from evalharness.grading import grade_file

    options = dict(_parse_option(text) for text in args.option)
    if args.allow_unsafe_exec:
        options["allow_unsafe_exec"] = True
    summary = grade_file(args.grader, args.input, args.output, options)
    print(f"{args.grader}: accuracy {summary.correct / summary.total:.4f} ({summary.correct}/{summary.total})")
    print(summary.output)
    return 0


def _parse_option(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise UserError(f"--option {text!r}: expected KEY=VALUE")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def cmd_report(args) -> int:
    from evalharness.reports import write_report

    print(write_report(args.run_dirs, args.out))
    return 0


def cmd_compare(args) -> int:
    from evalharness.reports import compare_runs

    if len(args.run_dirs) < 2:
        raise UserError("compare needs at least two run directories (the first is the baseline)")
    return compare_runs(args.run_dirs, args.out, args.fail_if_worse, args.alpha)


def cmd_cache(args) -> int:
    from evalharness.cache import ResponseCache

    path = cache_path(args)
    if args.action == "stats" and not path.exists():
        print(f"{path}: no cache yet (0 entries)")
        return 0
    cache = ResponseCache(path)
    try:
        if args.action == "clear":
            print(f"{path}: removed {cache.clear()} cached responses")
        else:
            stats = cache.stats()
            print(f"{stats['path']}: {stats['entries']} responses, {stats['bytes'] / 1e6:.1f} MB")
            for model, count in stats["models"].items():
                print(f"  {model}: {count}")
    finally:
        cache.close()
    return 0


def cmd_runs(args) -> int:
    from evalharness.runs import list_runs

    runs = [r for r in list_runs(args.output_dir) if not (args.unfinished and r.finished)]
    if not runs:
        print(f"{args.output_dir}: no {'unfinished ' if args.unfinished else ''}runs")
        return 0
    width = max(len(str(r.path)) for r in runs)
    for r in runs:
        state = "finished" if r.finished else f"unfinished: {r.reason}"
        print(f"{str(r.path):<{width}}  {r.suite:<14} {r.model:<24} {r.progress:>11}  {state}")
    unfinished = [r for r in runs if not r.finished]
    if unfinished:
        print(f"continue one with: evalharness run --resume {unfinished[-1].path}")
    return 0


def cmd_schema(args) -> int:
    if args.kind == "suite":
        from evalharness.suite import suite_json_schema

        schema = suite_json_schema()
    else:
        from evalharness.config import profile_json_schema

        schema = profile_json_schema()
    print(json.dumps(schema, indent=2))
    return 0

"""The command line: `evalharness run | card | grade | report | compare | cache | schema`.

A thin shell over library calls. This is the one place that catches `UserError`: it prints
`evalharness: error: <message>` on stderr and exits 1, without a traceback. The terminal output (progress
bar, summary lines) and the exit-code policy live here too. Every command imports its machinery inside its
handler, so `--help` and argument errors answer without loading httpx, sympy or matplotlib.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from evalharness.errors import UserError

CACHE_ENV = "EVALHARNESS_CACHE"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evalharness",
        description="Measure how good and how fast Phi-4-Mini is on your endpoint.",
        epilog="examples:\n"
               "  evalharness run suites/quickstart.yaml\n"
               "  evalharness run suites/gsm8k.yaml --config configs/vllm.yaml --limit 200\n"
               "  evalharness compare reports/runs/A reports/runs/B --fail-if-worse",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    _add_run(commands)
    _add_card(commands)
    _add_grade(commands)
    _add_report(commands)
    _add_compare(commands)
    _add_cache(commands)
    _add_schema(commands)
    return parser


def _add_run(commands) -> None:
    run = commands.add_parser("run", help="run suites against a model and write run records")
    run.add_argument("suites", nargs="+", type=Path, help="suite YAML files (see suites/)")
    _add_endpoint_args(run)
    data = run.add_argument_group("data and output")
    data.add_argument("--limit", type=int, help="evaluate only the first N items")
    data.add_argument("--data", type=Path, help="read the items from this file instead (one suite only)")
    data.add_argument("--output-dir", type=Path, default=Path("reports") / "runs",
                      help="where run directories go (default reports/runs)")
    _add_cache_args(data)
    data.add_argument("--no-report", action="store_true", help="skip writing report.html at the end")
    data.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    run.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                     help="override a suite field, validated like the file and recorded in config.yaml, "
                          "e.g. --set generation.max_tokens=1024 (repeatable)")
    run.add_argument("--allow-unsafe-exec", action="store_true",
                     help="let code graders run model code even when no sandbox isolation is available")
    run.set_defaults(handler=cmd_run)


def _add_card(commands) -> None:
    card = commands.add_parser(
        "card", help="run a model card's benchmarks against one endpoint and compare with the card's figures",
        description="Runs each benchmark row of a model card (default: Phi-4-mini-instruct's) against one "
                    "endpoint and writes a table of card figure vs ours (95% CI, difference, verdict) to the "
                    "terminal, card.json and card.html. The last stdout line is the card directory.")
    _add_endpoint_args(card)
    data = card.add_argument_group("rows, data and output")
    data.add_argument("--card", type=Path, default=None,
                      help="card figures file (default configs/cards/phi-4-mini-instruct.yaml)")
    data.add_argument("--suites", action="append", default=[], metavar="KEY[,KEY]",
                      help="only these rows (keys: suite file names, e.g. mmlu,arc_challenge); repeatable")
    data.add_argument("--set-suite", action="append", default=[], metavar="KEY=SUITE.yaml", dest="swaps",
                      help="measure row KEY with another suite file, e.g. math=suites/math500.yaml")
    data.add_argument("--limit", type=int, help="evaluate only the first N items of each suite (each subset)")
    data.add_argument("--output-dir", type=Path, default=Path("reports") / "cards",
                      help="where the card directory goes (default reports/cards); runs go inside it")
    _add_cache_args(data)
    data.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    card.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                      help="override a field of every suite, e.g. --set generation.max_tokens=1024 (repeatable)")
    card.set_defaults(handler=cmd_card)


def _add_cache_args(group) -> None:
    group.add_argument("--cache", type=Path, help="response cache file (default reports/cache.sqlite)")
    group.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")


def _add_endpoint_args(parser) -> None:
    endpoint = parser.add_argument_group("endpoint (flags override --config)")
    endpoint.add_argument("--config", type=Path, help="endpoint profile, e.g. configs/ollama.yaml")
    endpoint.add_argument("--base-url", help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1")
    endpoint.add_argument("--model", help="model name the endpoint expects")
    endpoint.add_argument("--api-key-env", help="environment variable holding the API key "
                                                "(default EVALHARNESS_API_KEY; none needed for local servers)")
    endpoint.add_argument("--concurrency", type=int, help="requests in flight (default 16)")
    endpoint.add_argument("--timeout", type=float, dest="timeout_s", help="seconds per request (default 120)")
    endpoint.add_argument("--max-retries", type=int, help="retries on 429/5xx/connection errors (default 6)")
    endpoint.add_argument("--model-path", help="local GGUF file (runs in-process with llama.cpp)")


def _add_grade(commands) -> None:
    grade = commands.add_parser("grade", help="re-grade records offline (exact_match, math_equiv, code_exec)")
    grade.add_argument("grader", help="grader name: exact_match, math_equiv or code_exec")
    grade.add_argument("--input", type=Path, required=True, help="JSONL records with gold and response (or pred)")
    grade.add_argument("--output", type=Path, help="where to write graded records "
                                                   "(default: INPUT with .graded.jsonl)")
    grade.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="grader option (value parsed as JSON when possible); repeatable")
    grade.add_argument("--allow-unsafe-exec", action="store_true",
                       help="let code_exec run code even when no sandbox isolation is available")
    grade.set_defaults(handler=cmd_grade)


def _add_report(commands) -> None:
    report = commands.add_parser("report", help="write report.html and plots for run directories")
    report.add_argument("run_dirs", nargs="+", type=Path)
    report.add_argument("--out", type=Path, help="output directory (default: the run directory)")
    report.set_defaults(handler=cmd_report)


def _add_compare(commands) -> None:
    compare = commands.add_parser("compare", help="paired comparison of runs (first run is the baseline)")
    compare.add_argument("run_dirs", nargs="+", type=Path)
    compare.add_argument("--out", type=Path, help="where compare.html and plots go")
    compare.add_argument("--fail-if-worse", action="store_true",
                         help="exit 1 when a later run is significantly worse than the first")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    compare.set_defaults(handler=cmd_compare)


def _add_cache(commands) -> None:
    cache = commands.add_parser("cache", help="inspect or clear the response cache")
    cache.add_argument("action", choices=["stats", "clear"])
    cache.add_argument("--cache", type=Path, help="cache file (default reports/cache.sqlite)")
    cache.set_defaults(handler=cmd_cache)


def _add_schema(commands) -> None:
    schema = commands.add_parser("schema", help="print the JSON Schema of suite or profile files (for editors)")
    schema.add_argument("kind", choices=["suite", "profile"])
    schema.set_defaults(handler=cmd_schema)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"evalharness: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("evalharness: interrupted; results obtained so far are in the run directory", file=sys.stderr)
        return 130


def _cache_path(args) -> Path:
    return args.cache or Path(os.environ.get(CACHE_ENV) or Path("reports") / "cache.sqlite")


def _endpoint_provider_cache(args):
    """The endpoint the flags and --config name, its provider, and the response cache (None: --no-cache)."""
    from evalharness.config import load_profile, make_provider, provider_for_options, resolve_endpoint

    profile = load_profile(args.config) if args.config else None
    flags = {"base_url": args.base_url, "model": args.model, "api_key_env": args.api_key_env,
             "concurrency": args.concurrency, "timeout_s": args.timeout_s, "max_retries": args.max_retries}
    if args.model_path:  # a local model file: the provider that reads model files runs it
        flags["options"] = {"model_path": args.model_path}
        flags["provider"] = provider_for_options(flags["options"])
    endpoint = resolve_endpoint(profile, flags)
    provider = make_provider(endpoint)
    cache = None
    if not args.no_cache:
        from evalharness.cache import ResponseCache

        cache = ResponseCache(_cache_path(args))
    return endpoint, provider, cache


def cmd_card(args) -> int:
    from evalharness.card import DEFAULT_CARD, CHECKOUT, run_card, table
    from evalharness.progress import Progress
    from evalharness.runner import RunOptions

    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    wanted = [name.strip() for text in args.suites for name in text.split(",") if name.strip()]
    swaps = dict(_parse_swap(text) for text in args.swaps)
    card_path = args.card or (DEFAULT_CARD if DEFAULT_CARD.is_file() else CHECKOUT / DEFAULT_CARD)
    endpoint, provider, cache = _endpoint_provider_cache(args)
    options = RunOptions(limit=args.limit, progress=Progress(enabled=not args.no_progress),
                         concurrency=endpoint.concurrency,
                         config_extra={"endpoint": endpoint.redacted(),
                                       "cache": None if cache is None else str(cache.path)})
    try:
        outcome = run_card(card_path, wanted, swaps, provider, cache, options, args.overrides, args.output_dir,
                           endpoint.redacted())
    finally:
        if cache is not None:
            cache.close()
    print(table(outcome.rows))
    for row in outcome.rows:
        if row.unextracted:
            print(f"note: {row.benchmark}: no answer found in {row.unextracted} of {row.n} responses "
                  "(counted wrong)")
    if provider.notice():
        print(provider.notice())
    print(outcome.directory / "card.html")
    print(outcome.directory)
    if outcome.aborted:
        print(f"evalharness: error: {outcome.aborted} (rows done so far are in {outcome.directory})",
              file=sys.stderr)
        return 1
    return 0


def _parse_swap(text: str) -> tuple[str, str]:
    key, sep, path = text.partition("=")
    if not sep or not key.strip() or not path.strip():
        raise UserError(f"--set-suite {text!r}: expected KEY=SUITE.yaml, e.g. math=suites/math500.yaml")
    return key.strip(), path.strip()


def cmd_run(args) -> int:
    import asyncio

    from evalharness.progress import Progress
    from evalharness.runner import RunOptions, run_suite
    from evalharness.suite import load_suite

    if args.data and len(args.suites) > 1:
        raise UserError("--data names one file, so it works with one suite at a time")
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    suites = [load_suite(path, args.overrides) for path in args.suites]
    if args.data and suites[0].subsets:
        raise UserError(f"--data names one file, but {suites[0].name} reads one per subset; use --limit instead")
    endpoint, provider, cache = _endpoint_provider_cache(args)
    options = RunOptions(
        output_dir=args.output_dir, data_file=args.data, limit=args.limit,
        progress=Progress(enabled=not args.no_progress), concurrency=endpoint.concurrency,
        grader_options={"code_exec": {"allow_unsafe_exec": True}} if args.allow_unsafe_exec else {},
        config_extra={"endpoint": endpoint.redacted(),
                      "cache": None if cache is None else str(cache.path)},
    )

    async def run_all():
        outcomes = []
        try:
            for suite in suites:
                outcome = await run_suite(suite, provider, cache, options)
                outcomes.append(outcome)
                if outcome.aborted:
                    break
        finally:
            await provider.aclose()
        return outcomes

    try:
        outcomes = asyncio.run(run_all())
    finally:
        if cache is not None:
            cache.close()
    return _finish_runs(outcomes, provider.notice(), args)


def print_summary(results: dict[str, Any], stream=None) -> None:
    """The run's summary lines: metrics with intervals, counts, latency and tokens."""
    r = results
    lines = [f"{r['suite']}: {r['model']} ({r.get('provider')}{', ' + r['base_url'] if r.get('base_url') else ''})"]
    for name, metric in r["metrics"].items():
        lo, hi = metric["ci95"]
        lines.append(f"  {name:<12} {metric['value']:.4f}  95% CI [{lo:.4f}, {hi:.4f}]")
    lat = r["latency_s"]
    lines.append(f"  samples {r['n']}  errors {r['errors']}  no answer found {r.get('unextracted', 0)}"
                 f"  cached {r['cached']}  requests {r['requests']}  wall {r['wall_s']:.2f}s")
    lines.append(f"  latency p50 {lat['p50']:.3f}s  p90 {lat['p90']:.3f}s  p99 {lat['p99']:.3f}s"
                 f"  tokens in {r['tokens']['prompt']} out {r['tokens']['completion']}")
    print("\n".join(lines), file=stream or sys.stdout)


def _finish_runs(outcomes, notice: str | None, args) -> int:
    for outcome in outcomes:
        print_summary(outcome.results)
    if notice:
        print(notice)
    if not args.no_report and outcomes:
        for outcome in outcomes:
            path = _write_report(outcome.run_dir)
            if path:
                print(f"report: {path}")
    for outcome in outcomes:
        print(outcome.run_dir)
    aborted = [o for o in outcomes if o.aborted]
    if aborted:
        print(f"evalharness: error: {aborted[0].aborted} (results so far kept in {aborted[0].run_dir})",
              file=sys.stderr)
        return 1
    failed = [o for o in outcomes if o.results["n"] and o.results["errors"] == o.results["n"]]
    if failed:
        r = failed[0].results
        print(f"evalharness: error: all {r['n']} requests of {r['suite']} failed, e.g. {r['first_error']}; "
              "check --base-url, --model and that the server is up", file=sys.stderr)
        return 1
    for outcome in outcomes:
        r = outcome.results
        if r["errors"]:
            print(f"evalharness: warning: {r['errors']} of {r['n']} requests of {r['suite']} failed and count as "
                  f"wrong (e.g. {r['first_error']}); a re-run retries only those", file=sys.stderr)
    return 0


def _write_report(run_dir: Path) -> Path | None:
    try:
        from evalharness.reports import write_report
    except ImportError:
        return None
    return write_report([run_dir])


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

    path = _cache_path(args)
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


def cmd_schema(args) -> int:
    if args.kind == "suite":
        from evalharness.suite import suite_json_schema

        schema = suite_json_schema()
    else:
        from evalharness.config import profile_json_schema

        schema = profile_json_schema()
    print(json.dumps(schema, indent=2))
    return 0

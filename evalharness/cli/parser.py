"""The command line's arguments: one `_add_<command>` per command, each pointing at its handler (handlers
import their machinery when they run, so building the parser stays cheap)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evalharness.cli import card as card_command
from evalharness.cli import commands as offline
from evalharness.cli import run as running

# The built-in graders (graders.GRADERS, kept here so --help needs no import; a test checks they agree).
GRADER_NAMES = ("exact_match", "math_equiv", "code_exec", "choice", "bbh_match", "tool_call_ast", "string_match_all",
                "string_match_part")


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
    _add_runs(commands)
    return parser


def _add_run(commands) -> None:
    run = commands.add_parser("run", help="run suites against a model and write run records")
    run.add_argument("suites", nargs="*", type=Path,
                     help="suite YAML files (see suites/); with --resume, default: the resumed run's suite")
    add_endpoint_args(run)
    data = run.add_argument_group("data and output")
    data.add_argument("--limit", type=int, help="evaluate only the first N items")
    data.add_argument("--data", type=Path, help="read the items from this file instead (one suite only)")
    data.add_argument("--output-dir", type=Path, default=Path("reports") / "runs",
                      help="where run directories go (default reports/runs)")
    add_cache_args(data)
    data.add_argument("--no-report", action="store_true", help="skip writing report.html at the end")
    data.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    data.add_argument("--resume", type=Path, metavar="RUN_DIR",
                      help="continue this unfinished run directory: keep its answered samples, query only the "
                           "missing ones (refused when the suite, model or settings differ)")
    run.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                     help="override a suite field, validated like the file and recorded in config.yaml, "
                          "e.g. --set generation.max_tokens=1024 (repeatable)")
    run.add_argument("--allow-unsafe-exec", action="store_true",
                     help="let code graders run model code even when no sandbox isolation is available")
    run.set_defaults(handler=running.cmd_run)


def add_endpoint_args(parser) -> None:
    """The endpoint flags `run` and `card` share (they override --config)."""
    endpoint = parser.add_argument_group("endpoint (flags override --config)")
    endpoint.add_argument("--config", type=Path, help="endpoint profile, e.g. configs/ollama.yaml")
    endpoint.add_argument("--base-url", action="append", metavar="URL",
                          help="OpenAI-compatible base URL, e.g. http://localhost:8000/v1; repeat it for "
                               "replicas of one model (requests go to the least busy healthy one)")
    endpoint.add_argument("--model", help="model name the endpoint expects")
    endpoint.add_argument("--api-key-env", help="environment variable holding the API key "
                                                "(default EVALHARNESS_API_KEY; none needed for local servers)")
    endpoint.add_argument("--concurrency", type=int, help="requests in flight (default 16)")
    endpoint.add_argument("--timeout", type=float, dest="timeout_s", help="seconds per request (default 120)")
    endpoint.add_argument("--max-retries", type=int, help="retries on 429/5xx/connection errors (default 6)")
    endpoint.add_argument("--model-path", help="local GGUF file (runs in-process with llama.cpp)")
    endpoint.add_argument("--tool-mode", choices=["native", "prompt"],
                          help="how function-calling suites offer functions: native (request tools) or prompt "
                               "(Phi-4-mini's system-prompt format, calls read from the text); default native, "
                               "prompt for the in-process model")


def add_cache_args(group) -> None:
    group.add_argument("--cache", type=Path, help="response cache file (default reports/cache.sqlite)")
    group.add_argument("--no-cache", action="store_true", help="neither read nor write the response cache")


def _add_card(commands) -> None:
    card = commands.add_parser(
        "card", help="run a model card's benchmarks against one endpoint and compare with the card's figures",
        description="Runs each benchmark row of a model card (default: Phi-4-mini-instruct's) against one "
                    "endpoint and writes a table of card figure vs ours (95% CI, difference, verdict) to the "
                    "terminal, card.json and card.html. The last stdout line is the card directory.")
    add_endpoint_args(card)
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
    add_cache_args(data)
    data.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    card.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", dest="overrides",
                      help="override a field of every suite, e.g. --set generation.max_tokens=1024 (repeatable)")
    card.set_defaults(handler=card_command.cmd_card)


def _add_grade(commands) -> None:
    grade = commands.add_parser("grade", help="re-grade records offline with any grader")
    grade.add_argument("grader", help=f"grader name: {', '.join(GRADER_NAMES)}, or file.py:Class")
    grade.add_argument("--input", type=Path, required=True, help="JSONL records with gold and response (or pred)")
    grade.add_argument("--output", type=Path, help="where to write graded records "
                                                   "(default: INPUT with .graded.jsonl)")
    grade.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                       help="grader option (value parsed as JSON when possible); repeatable")
    grade.add_argument("--allow-unsafe-exec", action="store_true",
                       help="let code_exec run code even when no sandbox isolation is available")
    grade.set_defaults(handler=offline.cmd_grade)


def _add_report(commands) -> None:
    report = commands.add_parser("report", help="write report.html and plots for run directories")
    report.add_argument("run_dirs", nargs="+", type=Path)
    report.add_argument("--out", type=Path, help="output directory (default: the run directory)")
    report.set_defaults(handler=offline.cmd_report)


def _add_compare(commands) -> None:
    compare = commands.add_parser("compare", help="paired comparison of runs (first run is the baseline)")
    compare.add_argument("run_dirs", nargs="+", type=Path)
    compare.add_argument("--out", type=Path, help="where compare.html and plots go")
    compare.add_argument("--fail-if-worse", action="store_true",
                         help="exit 1 when a later run is significantly worse than the first")
    compare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    compare.set_defaults(handler=offline.cmd_compare)


def _add_cache(commands) -> None:
    cache = commands.add_parser("cache", help="inspect or clear the response cache")
    cache.add_argument("action", choices=["stats", "clear"])
    cache.add_argument("--cache", type=Path, help="cache file (default reports/cache.sqlite)")
    cache.set_defaults(handler=offline.cmd_cache)


def _add_runs(commands) -> None:
    runs = commands.add_parser("runs", help="list run directories with their progress; unfinished ones can be "
                                            "continued with run --resume")
    runs.add_argument("output_dir", nargs="?", type=Path, default=Path("reports") / "runs",
                      help="folder of run directories (default reports/runs)")
    runs.add_argument("--unfinished", action="store_true", help="only runs that can be resumed")
    runs.set_defaults(handler=offline.cmd_runs)


def _add_schema(commands) -> None:
    schema = commands.add_parser("schema", help="print the JSON Schema of suite or profile files (for editors)")
    schema.add_argument("kind", choices=["suite", "profile"])
    schema.set_defaults(handler=offline.cmd_schema)

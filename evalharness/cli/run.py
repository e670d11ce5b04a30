"""`evalharness run`: endpoint and suites from the flags, the runs, what the terminal shows, the exit code.

Terminal output (progress, summary lines, notes) and the exit-code policy live here, not in the runner:
exit 1 when a run was aborted (fatal endpoint error, Ctrl-C) or every request failed, else 0 with a
warning line when some failed. Ctrl-C policy: `CtrlC`.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from evalharness.cli.common import cache_path
from evalharness.errors import UserError


def cmd_run(args) -> int:
    import asyncio

    from evalharness.runner import run_suite
    from evalharness.suite import load_suite

    resumed = _resume_settings(args) if args.resume else {}
    if not args.suites:
        raise UserError("no suite given: evalharness run suites/NAME.yaml (see suites/)")
    if args.resume and len(args.suites) > 1:
        raise UserError("--resume continues one run directory, so it works with one suite at a time")
    if args.data and len(args.suites) > 1:
        raise UserError("--data names one file, so it works with one suite at a time")
    if args.limit is not None and args.limit < 1:
        raise UserError(f"--limit must be at least 1, got {args.limit}")
    suites = [load_suite(path, args.overrides) for path in args.suites]
    if args.data and suites[0].subsets:
        raise UserError(f"--data names one file, but {suites[0].name} reads one per subset; use --limit instead")
    endpoint, provider, cache = open_endpoint(args, resumed.get("endpoint"))
    options = run_options(args, endpoint, cache, output_dir=args.output_dir, data_file=args.data,
                          resume_dir=args.resume)

    ctrl_c = CtrlC()

    async def run_all():
        outcomes = []
        ctrl_c.attach(asyncio.current_task())
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
    code = _finish_runs(outcomes, provider.notice(), args)
    if any(o.aborted for o in outcomes):
        _exit_without_waiting(code)
    return code


def open_endpoint(args, profile: dict[str, Any] | None = None):
    """The endpoint the flags and `--config` (else `profile`) name, its provider, and the response cache
    (None with --no-cache): shared by `run` and `card`."""
    from evalharness.config import load_profile, make_provider, provider_for_options, resolve_endpoint

    profile = load_profile(args.config) if args.config else profile
    base_url = args.base_url[0] if args.base_url and len(args.base_url) == 1 else args.base_url
    flags = {"base_url": base_url, "model": args.model, "api_key_env": args.api_key_env,
             "concurrency": args.concurrency, "timeout_s": args.timeout_s, "max_retries": args.max_retries,
             "tool_mode": args.tool_mode}
    if args.model_path:  # a local model file: the provider that reads model files runs it
        flags["options"] = {"model_path": args.model_path}
        flags["provider"] = provider_for_options(flags["options"])
    endpoint = resolve_endpoint(profile, flags)
    provider = make_provider(endpoint)
    cache = None
    if not args.no_cache:
        from evalharness.cache import ResponseCache

        cache = ResponseCache(cache_path(args))
    return endpoint, provider, cache


def run_options(args, endpoint, cache, **settings: Any):
    """The runner's options from the command line and the resolved endpoint (`settings` add to them)."""
    from evalharness.progress import Progress
    from evalharness.runner import RunOptions

    unsafe = getattr(args, "allow_unsafe_exec", False)
    return RunOptions(
        limit=args.limit, progress=Progress(enabled=not args.no_progress), concurrency=endpoint.concurrency,
        tool_mode=endpoint.tool_mode, grader_options={"code_exec": {"allow_unsafe_exec": True}} if unsafe else {},
        config_extra={"endpoint": endpoint.redacted(), "cache": None if cache is None else str(cache.path)},
        prices={"prompt_per_mtok": endpoint.price_prompt_per_mtok,
                "completion_per_mtok": endpoint.price_completion_per_mtok, "currency": endpoint.currency},
        **settings)


def _exit_without_waiting(code: int) -> None:
    """End a stopped run now: a grader thread still busy with a sample the run gave up (a slow program in
    the sandbox, a sympy comparison) must not hold the process; everything it produced is already on disk."""
    import threading

    if threading.active_count() > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


class CtrlC:
    """Ctrl-C policy for `run`: the first press stops the runs (the runner records what it has, writes
    results.json, the exit code is non-zero); a second press quits at once (every answer is already in the
    cache and every graded sample in samples.jsonl, so `--resume` loses nothing). A process started with
    SIGINT ignored (`nohup`, a background job of a non-interactive shell) keeps ignoring it. Installed for
    the whole command, so a grader thread still finishing cannot hold the process after a second press."""

    def __init__(self) -> None:
        import signal

        self.task = None
        self.presses = 0
        self.active = signal.getsignal(signal.SIGINT) is not signal.SIG_IGN
        if self.active:
            signal.signal(signal.SIGINT, self._on_sigint)

    def attach(self, task) -> None:
        """The asyncio task to cancel on the first press (the one running the suites)."""
        self.task = task

    def _on_sigint(self, signum, frame) -> None:
        self.presses += 1
        if self.presses > 1:
            sys.stderr.write("\nevalharness: interrupted twice: quitting now; continue with run --resume\n")
            sys.stderr.flush()
            os._exit(130)
        if self.task is None or self.task.done():
            raise KeyboardInterrupt
        sys.stderr.write("\nevalharness: stopping (results so far are kept); press Ctrl-C again to quit at once\n")
        sys.stderr.flush()
        self.task.get_loop().call_soon_threadsafe(self.task.cancel)


def _resume_settings(args) -> dict[str, Any]:
    """What `--resume RUN_DIR` fills in from the run's config.yaml when the command line leaves it out: the
    suite (and its --set overrides), --limit, --data and the endpoint (its key again from the environment).
    Whatever is given explicitly is checked against the run's fingerprint instead."""
    import yaml

    config_file = args.resume / "config.yaml"
    if not config_file.is_file():
        raise UserError(f"--resume {args.resume}: not a run directory (no config.yaml); see evalharness runs")
    config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    options = config.get("options") or {}
    if not args.suites and config.get("suite_file"):
        args.suites = [Path(config["suite_file"])]
        args.overrides = args.overrides or list(config.get("overrides") or [])
    if args.limit is None:
        args.limit = options.get("limit")
    if args.data is None and options.get("data_file"):
        args.data = Path(options["data_file"])
    if args.no_cache is False and args.cache is None and config.get("cache"):
        args.cache = Path(config["cache"])
    args.output_dir = args.resume.parent
    endpoint = dict(config.get("endpoint") or {})
    if endpoint and not (args.config or args.base_url or args.model or args.model_path):
        endpoint.pop("api_key", None)  # written redacted; the key comes from api_key_env again
        return {"endpoint": {k: v for k, v in endpoint.items() if v is not None}}
    return {}


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
    if r.get("cost"):
        cost = r["cost"]
        lines.append(f"  cost {cost['total']:.4f} {cost['currency']}  (the cache saved {cost['saved_by_cache']:.4f})")
    long_context = r.get("long_context")
    if long_context:
        lengths = "  ".join(f"{length}: {row['accuracy']:.0%}" if row["accuracy"] is not None else f"{length}: -"
                            for length, row in long_context["by_length"].items())
        effective = long_context["effective_length"]
        lines.append(f"  accuracy by length {lengths}")
        lines.append(f"  effective length {effective} tokens (every length up to it >= {long_context['threshold']:.1%})"
                     if effective else f"  effective length none (the shortest length is below "
                                       f"{long_context['threshold']:.1%} or was not measured)")
    print("\n".join(lines), file=stream or sys.stdout)


def over_context_note(results: dict[str, Any]) -> str | None:
    """The one line saying how many samples did not fit the endpoint's context, or None."""
    count = results.get("over_context") or 0
    if not count:
        return None
    limit = results.get("context_limit")
    said = f"limit {limit} tokens" if limit else "limit not stated"
    return (f"evalharness: note: {count} of {results['n']} samples of {results['suite']} were over the endpoint's "
            f"context ({said}) and are left out of accuracy, not counted wrong; raise the server's context "
            "(vLLM --max-model-len, llama.cpp -c, Ollama num_ctx) or drop those grid.lengths")


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
    for outcome in outcomes:
        note = over_context_note(outcome.results)
        if note:
            print(note, file=sys.stderr)
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

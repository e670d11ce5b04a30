"""`evalharness report`: one self-contained report.html (plus plots/*.png) for one or more run directories.

Sections: a summary table of every run; per run, headline cards, charts (latency histogram and CDF with
p50/p90/p99, output tokens per second, accuracy against response length, errors and retries, per-category
breakdowns) and tables; then the per-sample explorer. The work per sample is a few dict/list operations, so
a 5,000-sample run is dominated by the handful of matplotlib charts (benchmarks/bench_report.py).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evalharness.errors import UserError
from evalharness.reports import html as h
from evalharness.reports.rundir import Run, load_runs
from evalharness.reports.summary import RunSummary, summarize

MAX_TEXT = 20_000  # characters of one prompt/response kept in the explorer; samples.jsonl has the rest


def default_out_dir(prefix: str) -> Path:
    return Path("reports") / f"{prefix}-{datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')}"


def write_report(run_dirs: list[Path], out_dir: Path | None = None) -> Path:
    """Write report.html and plots/*.png; returns the report.html path.

    Default output: the run directory itself when given one directory, else reports/report-<UTC time>/."""
    runs = load_runs([Path(p) for p in run_dirs])
    if out_dir is None:
        out_dir = Path(run_dirs[0]) if len(run_dirs) == 1 else default_out_dir("report")
    out_dir = Path(out_dir)
    plots_dir = out_dir / "plots"
    try:
        plots_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot create the report folder ({exc.strerror})") from None
    summaries = [summarize(run) for run in runs]
    labels = run_labels(runs)
    body = [_header(summaries, labels), _overview(summaries, labels, plots_dir)]
    body += [_run_section(i, s, labels[i], plots_dir, multi=len(runs) > 1) for i, s in enumerate(summaries)]
    body.append(_explorer_shell(labels))
    target = out_dir / "report.html"
    title = "Evaluation report: " + ", ".join(sorted({r.suite for r in runs}))
    h.write_page(target, title, "".join(body), explorer_data(runs, labels))
    return target


def run_labels(runs: list[Run]) -> list[str]:
    """Short names for runs: the run id, made unique when two directories share one."""
    labels: list[str] = []
    for run in runs:
        label = run.run_id
        while label in labels:
            label = f"{run.run_id} ({run.path})"
            if label in labels:
                label = f"{run.run_id} #{len(labels) + 1}"
        labels.append(label)
    return labels


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "run"


def save_plot(plots_dir: Path, name: str, png: bytes) -> str:
    (plots_dir / name).write_bytes(png)
    return name


def _header(summaries: list[RunSummary], labels: list[str]) -> str:
    links = "".join(f'<a href="#run-{i}">{h.esc(label)}</a>' for i, label in enumerate(labels))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        "<h1>Evaluation report</h1>"
        f'<p class="lead">{len(summaries)} run(s), generated {h.esc(when)}. Each score is the share of test '
        "items the model answered correctly, with a 95% confidence interval: the range the true score "
        "probably lies in, given how many items were tested. Charts show how fast the endpoint answered; "
        "the sample explorer at the bottom shows every prompt and answer.</p>"
        f'<nav><a href="#summary">Summary</a>{links}<a href="#explorer">Sample explorer</a></nav>'
    )


def _overview(summaries: list[RunSummary], labels: list[str], plots_dir: Path) -> str:
    rows = []
    for s, label in zip(summaries, labels):
        res, c = s.run.results, s.counts
        tps = sorted(s.tokens_per_s)
        for m in s.metrics:
            rows.append([
                h.Raw(f'<a href="#run-{labels.index(label)}">{h.esc(label)}</a>'), s.run.suite, res.get("model", "—"),
                m.name, h.pct(m.value), h.pct_ci(m.ci95), m.items, c["errors"],
                f"{s.latency['p50']:.2f} / {s.latency['p90']:.2f} / {s.latency['p99']:.2f}",
                f"{tps[len(tps) // 2]:.1f}" if tps else "—",
                h.Raw('<span class="bad">aborted: ' + h.esc(res["aborted"]) + "</span>") if res.get("aborted") else "complete",
            ])
    out = ["<h2 id=summary>Summary</h2>", h.table(
        ["run", "suite", "model", "metric", "score", "95% CI", "items", "errors", "latency p50 / p90 / p99 (s)",
         "median tokens/s", "status"], rows)]
    if len(summaries) > 1:
        points = [(f"{label} · {m.name}", m.value, m.ci95) for s, label in zip(summaries, labels) for m in s.metrics]
        from evalharness.reports import plots

        name = save_plot(plots_dir, "overview-scores.png", plots.metric_points(points, "Score per run (95% CI)", "score %"))
        out.append('<div class="plots">' + h.figure((plots_dir / name).read_bytes(), "score per run", "Each dot is a run's score; the line is its 95% confidence interval. Overlapping lines mean the runs may not really differ: use `evalharness compare` for a paired test.", name) + "</div>")
    return "".join(out)


def _run_section(i: int, s: RunSummary, label: str, plots_dir: Path, multi: bool) -> str:
    from evalharness.reports import plots

    run, c = s.run, s.counts
    prefix = f"{i + 1}-{slug(run.suite)}" if multi else slug(run.suite)
    tps = sorted(s.tokens_per_s)
    cards = [h.card(m.name, h.pct(m.value), f"95% CI {h.pct_ci(m.ci95)} · {m.items} items ({m.method})") for m in s.metrics]
    cards += [
        h.card("latency p50", f"{s.latency['p50']:.2f} s", f"p90 {s.latency['p90']:.2f} s · p99 {s.latency['p99']:.2f} s"),
        h.card("output speed", f"{tps[len(tps) // 2]:.1f} tok/s" if tps else "—", "median per request"),
        h.card("errors", str(c["errors"]), f"{c['retries']} retries · {c['truncated']} cut off at max tokens"),
        h.card("no answer found", str(c["unextracted"]),
               "responses in which the grader found no answer (counted wrong)"),
    ]
    figures = []

    def add(kind: str, png: bytes, alt: str, caption: str) -> None:
        figures.append(h.figure(png, alt, caption, save_plot(plots_dir, f"{prefix}-{kind}.png", png)))

    title = run.suite if not multi else f"{run.suite} ({i + 1})"
    add("latency-histogram", plots.latency_histogram(s.latencies, title), "latency histogram",
        "How many requests took each duration. Dashed lines: p50 (half the requests were faster), p90 and "
        "p99 (the slow tail).")
    add("latency-cdf", plots.latency_cdf(s.latencies, title), "latency CDF",
        "Read across: the share of requests that finished within x seconds; the same p50/p90/p99 marks.")
    add("throughput", plots.throughput(s.tokens_per_s, title), "output tokens per second",
        "Generated tokens divided by request time, per request (cached responses excluded).")
    points = [(x.completion_tokens, x.correct) for x in run.samples if x.completion_tokens and not x.error]
    add("length", plots.accuracy_by_length(points, title), "accuracy against response length",
        "Are long answers more often wrong? Each dot is the share correct among responses of that length.")
    add("errors", plots.problems(c, title), "errors and retries",
        "Failed requests count as wrong answers; retries are extra attempts after a transient failure.")
    breakdown_html = []
    for key, rows in s.breakdowns.items():
        add(f"by-{slug(key)}", plots.groups([(r.group, r.value, r.ci95, r.n) for r in rows], f"{title}: accuracy by {key}", "accuracy"),
            f"accuracy by {key}", f"accuracy for each {key}; whiskers are 95% intervals (wide when n is small).")
        breakdown_html.append(f"<h3>accuracy by {h.esc(key)}</h3>" + h.table(
            [key, "items", "accuracy", "95% CI"], [[r.group, r.n, h.pct(r.value), h.pct_ci(r.ci95)] for r in rows]))
    long_context = _long_context(run, title, prefix, plots_dir)
    facts = _choice_order(s) + _failures(s) + _facts(s)
    return (
        f'<section id="run-{i}"><h2>{h.esc(label)}</h2>'
        f'<p class="muted">{h.esc(run.path)}</p><div class="cards">{"".join(cards)}</div>'
        f'<div class="plots">{"".join(figures)}</div>{long_context}{"".join(breakdown_html)}{facts}</section>'
    )


MAX_REASON_COLUMNS = 8  # subsets shown as columns of the why-it-failed table; more make it unreadable


def _failures(s: RunSummary) -> str:
    """Why answers were wrong, by the reason the grader gave (`details.reason`), with a column per subset."""
    if not s.failure_reasons:
        return ""
    overall = s.failure_reasons["all"]
    subsets = [k for k in s.failure_reasons if k != "all"][:MAX_REASON_COLUMNS]
    total = sum(overall.values())
    rows = [[reason, count, h.pct(count / total)] + [s.failure_reasons[sub].get(reason, 0) for sub in subsets]
            for reason, count in overall.items()]
    return ("<h3>why answers were wrong</h3>"
            '<p class="muted">Each wrong answer counted once, by the reason its grader gave.</p>'
            + h.table(["reason", "wrong answers", "share"] + subsets, rows))


def _long_context(run: Run, title: str, prefix: str, plots_dir: Path) -> str:
    """The long-context section of a generated run (heatmap, accuracy by length, prefill), else ''."""
    if run.spec.grid is None:
        return ""
    from evalharness.long_context import summarize
    from evalharness.reports.long_context import section_html

    def figure(kind: str, png: bytes, alt: str, caption: str) -> str:
        return h.figure(png, alt, caption, save_plot(plots_dir, f"{prefix}-{kind}.png", png))

    return section_html(summarize(run.tally), title, figure)


def _choice_order(s: RunSummary) -> str:
    """Position bias of a `shuffle_choices` run: accuracy per option order and per gold letter."""
    tally = s.run.tally
    if tally.orders is None:
        return ""
    orders = tally.orders.results(tally.spec.presentations, tally.items.values())
    letters = sorted(set(orders["accuracy_by_gold_letter"]) | set(orders["chosen_letters"]))
    rows = [[letter, h.pct(orders["accuracy_by_gold_letter"][letter]) if letter in orders["accuracy_by_gold_letter"]
             else "—", orders["chosen_letters"].get(letter, 0)] for letter in letters]
    return (f"<h3>answer position ({orders['presentations']} option orders per item)</h3>"
            f"<p class=muted>Right in every order: {h.pct(orders['all_orders_correct'])} of "
            f"{orders['items_all_orders']} items. Accuracy that follows the gold letter rather than the item, "
            "or one letter chosen far more often, is position bias.</p>"
            + h.table(["letter", "accuracy when it is the gold", "times chosen"], rows))


def _facts(s: RunSummary) -> str:
    res, c = s.run.results, s.counts
    rows: list[list[Any]] = [
        ["model", res.get("model", "—")], ["endpoint", res.get("base_url", "—")],
        ["completions (items × samples)", f"{c['samples']} ({c['items']} items)"],
        ["correct completions", c["correct"]], ["failed requests", c["errors"]],
        ["no answer found (counted wrong)", c["unextracted"]], ["retries", c["retries"]],
        ["served from cache", c["cached"]], ["cut off at max tokens", c["truncated"]],
        ["tokens (prompt / completion)", f"{c['prompt_tokens']:,} / {c['completion_tokens']:,}"],
        ["wall time", f"{res['wall_s']:.1f} s" if isinstance(res.get("wall_s"), (int, float)) else "—"],
        ["cost", _cost_text(res.get("cost"))],
        ["grader", ", ".join(f"{k}={v}" for k, v in (res.get("grader") or {}).items()) or "—"],
        ["created", res.get("created", "—")], ["evalharness", res.get("evalharness_version", "—")],
    ]
    for m in s.metrics:
        if m.skipped:
            rows.append([f"{m.name}: items left out", f"{m.skipped} (fewer samples than k)"])
    out = "<h3>Run facts</h3>" + h.table(["", ""], rows)
    if s.error_kinds:
        out += "<h3>Most common errors</h3>" + h.table(["error (numbers shown as N)", "count"], s.error_kinds)
    return out


def _cost_text(cost: dict[str, Any] | None) -> str:
    if not cost:
        return "— (add price_prompt_per_mtok / price_completion_per_mtok to the endpoint profile)"
    return (f"{cost['total']:.4f} {cost['currency']} (prompt {cost['prompt']:.4f}, completion {cost['completion']:.4f}); "
            f"answers served from the cache would have cost {cost['saved_by_cache']:.4f} more")


def _explorer_shell(labels: list[str]) -> str:
    runs = ""
    if len(labels) > 1:
        options = "".join(f'<option value="{i}">{h.esc(label)}</option>' for i, label in enumerate(labels))
        runs = f'<select id="explorer-run" aria-label="run"><option value="all">all runs</option>{options}</select>'
    buttons = "".join(
        f'<button type="button" data-filter="{key}" aria-pressed="{"true" if key == "all" else "false"}">{name}</button>'
        for key, name in (("all", "All"), ("correct", "Correct"), ("incorrect", "Incorrect"), ("errors", "Errors"))
    )
    return (
        '<section id="explorer"><h2>Sample explorer</h2>'
        '<p class="muted">Click a row to see the full prompt, response, extracted answer and gold answer. '
        'Search matches ids, answers, responses and questions; <code>id:ITEM</code> finds one item.</p>'
        f'<div class="controls">{buttons}{runs}'
        '<input id="explorer-search" type="search" placeholder="Search text or id:ITEM" aria-label="search"></div>'
        '<p id="explorer-count" class="muted"></p>'
        '<div class="scroll"><table><thead><tr><th class="hide-narrow">#</th><th>item</th><th>result</th>'
        '<th>extracted</th><th>gold</th><th class="num hide-narrow">latency (s)</th><th></th></tr></thead>'
        '<tbody id="explorer-rows"></tbody></table></div>'
        '<div class="pager"><button type="button" id="explorer-prev">← previous</button>'
        '<span id="explorer-page" class="muted"></span><button type="button" id="explorer-next">next →</button></div>'
        "</section>"
    )


def explorer_data(runs: list[Run], labels: list[str]) -> dict[str, Any]:
    """Compact explorer payload; identical texts (system prompt, few-shot turns) are stored once."""
    texts: list[str] = []
    index: dict[str, int] = {}

    def ref(text: Any) -> int | None:
        if text is None:
            return None
        text = str(text)
        if len(text) > MAX_TEXT:
            text = text[:MAX_TEXT] + f"\n… [{len(text) - MAX_TEXT:,} more characters in samples.jsonl]"
        found = index.get(text)
        if found is None:
            found = index[text] = len(texts)
            texts.append(text)
        return found

    prefixes: list[list[list[Any]]] = []
    prefix_index: dict[tuple, int] = {}

    def conversation(record) -> list[Any]:
        """[prefix, own turns]: the turns before the last are shared by most rows (system, exemplars)."""
        turns = [[str(m.get("role", "?")), ref(m.get("content"))] for m in record.messages if isinstance(m, dict)]
        head, own = turns[:-1], turns[-1:]
        key = tuple((role, index) for role, index in head)
        found = prefix_index.get(key)
        if found is None:
            found = prefix_index[key] = len(prefixes)
            prefixes.append(head)
        return [found, own]

    rows = []
    multi = False
    for r, run in enumerate(runs):
        ordered = []
        for s in run.full_records():  # streamed: only the texts shown are kept, each once
            multi = multi or s.sample > 0
            status = 2 if s.error else (0 if s.correct else 1)
            messages = conversation(s)
            gold = s.gold if isinstance(s.gold, (str, int, float, bool)) or s.gold is None else _short_json(s.gold)
            ordered.append(((s.index, s.sample), [r, s.id, s.sample, status, _clip(s.extracted), _clip(gold),
                                                  s.latency_s, s.completion_tokens, messages,
                                                  ref(_shown_response(s)), s.error, s.finish_reason,
                                                  _why_wrong(s)]))
        rows += [row for _, row in sorted(ordered, key=lambda pair: pair[0])]
    return {"runs": labels, "texts": texts, "prefixes": prefixes, "rows": rows, "multi": multi}


def _shown_response(s: Any) -> str | None:
    """The response text, followed by the tool calls it made (one line each: name and JSON arguments).
    The explorer renders it with textContent, so whatever the model wrote stays text."""
    if not s.tool_calls:
        return s.response
    import json

    calls = [f"→ tool call {c.get('name')}({json.dumps(c.get('arguments'), ensure_ascii=False)})"
             for c in s.tool_calls if isinstance(c, dict)]
    return "\n".join(([s.response] if s.response else []) + calls)


def _why_wrong(s: Any) -> str | None:
    """`reason: why` from the primary grader's details of a wrong answer, when the grader gave them."""
    if s.correct or s.error or not s.grades:
        return None
    details = (next(iter(s.grades.values())) or {}).get("details")
    if not isinstance(details, dict) or not details.get("reason"):
        return None
    return _clip(f"{details['reason']}: {details['why']}" if details.get("why") else str(details["reason"]))


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return value[:MAX_TEXT] + " …"
    return value


def _short_json(value: Any) -> str:
    import json

    return _clip(json.dumps(value, ensure_ascii=False))

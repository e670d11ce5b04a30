"""How a comparison is shown: a plain-text table for the terminal and compare.html (+ plots/*.png).

compare.html lists every flip with the question, the gold answer and both runs' responses, each flip with
its own anchor (#flip-<n>-<item>) linked from the summary table, plus a link into each run's report.html
explorer when that file exists.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from evalharness.errors import UserError
from evalharness.reports import html as h
from evalharness.reports.compare import MAX_FLIPS_SHOWN, Comparison, RunSet, question, relative_link
from evalharness.reports.report import save_plot, slug

SNIPPET = 4000  # characters of a response shown per flip


def _pp(x: float) -> str:
    return f"{x * 100:+.1f}"


def _row(c: Comparison, alpha: float) -> list[str]:
    lat = c.latency
    return [
        c.suite, c.metric, f"{c.base_label}→{c.other_label}", str(len(c.shared)),
        f"{c.base_value * 100:.1f}%", f"{c.other_value * 100:.1f}%",
        f"{_pp(c.delta)} [{_pp(c.ci95[0])}, {_pp(c.ci95[1])}]", p_text(c.p_value), c.test,
        f"-{len(c.worse)} / +{len(c.better)}",
        f"{lat['other_p50'] - lat['base_p50']:+.2f}", f"{lat['other_p90'] - lat['base_p90']:+.2f}",
        f"{c.tokens[1] - c.tokens[0]:+.0f}", _cost_delta(c), c.verdict(alpha),
    ]


def _cost_delta(c: Comparison) -> str:
    """Difference of the two runs' costs (results.json `cost`, when both endpoints had prices)."""
    a, b = (run.results.get("cost") or {} for run in (c.base, c.other))
    if "total" not in a or "total" not in b or c.subset is not None:
        return "—"
    return f"{b['total'] - a['total']:+.4f} {b.get('currency', '')}".rstrip()


def p_text(p: float) -> str:
    return "<0.001" if p < 0.001 else f"{p:.3g}"


def sentence(c: Comparison, alpha: float) -> str:
    """The comparison in plain words, for readers who do not read p-values."""
    size = abs(c.delta) * 100
    lo, hi = sorted((abs(c.ci95[0]) * 100, abs(c.ci95[1]) * 100))
    if c.delta == 0:
        change = f"scores the same as run {c.base_label}"
    else:
        change = f"scores {size:.1f} percentage points {'lower' if c.delta < 0 else 'higher'} than run {c.base_label}"
    if c.significant(alpha):
        verdict = f"This is unlikely to be chance (p {'< 0.001' if c.p_value < 0.001 else f'= {c.p_value:.3g}'})"
        ci = f" (95% CI {lo:.1f} to {hi:.1f})"
    else:
        verdict = f"This could well be chance (p = {c.p_value:.2g}): no significant change"
        ci = ""
    flips = f"{len(c.worse)} item(s) got worse and {len(c.better)} got better"
    return f"{c.suite} {c.metric}: run {c.other_label} {change}{ci} on {len(c.shared)} shared items; {flips}. {verdict}."


HEADERS = ["suite", "metric", "runs", "items", "first", "later", "delta pp [95% CI]", "p", "test",
           "flips -/+", "Δp50 s", "Δp90 s", "Δtokens", "Δcost", "verdict"]


def terminal_table(sets: list[RunSet], comparisons: list[Comparison], notes: list[str], alpha: float) -> str:
    rows = [HEADERS] + [_row(c, alpha) for c in comparisons]
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADERS))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    legend = [f"  {s.label}: {s.path}" for s in sets]
    explain = (f"delta = later - first in percentage points; p from the paired test on shared items; "
               f"significant when p < {alpha}. flips: items right→wrong (-) and wrong→right (+). "
               "Δtokens: mean completion tokens per sample. Δcost: difference of the runs' costs (profiles with prices).")
    return "\n".join(["runs:", *legend, "", *lines, "", explain, *(f"note: {n}" for n in notes)])


def write_compare_html(sets: list[RunSet], comparisons: list[Comparison], notes: list[str], alpha: float, out_dir: Path) -> Path:
    from evalharness.reports import plots

    plots_dir = out_dir / "plots"
    try:
        plots_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{out_dir}: cannot create the compare folder ({exc.strerror})") from None
    figures = []
    points = [(f"{c.suite} {c.metric} {c.other_label}−{c.base_label}", c.delta, c.ci95) for c in comparisons]
    png = plots.metric_points(points, "Change against the first run (95% CI)", "delta, percentage points")
    figures.append(h.figure(png, "deltas", "Each dot is a later run's change in score; the line is its 95% interval. "
                            "Red: worse; grey: interval crosses zero (could be noise).", save_plot(plots_dir, "deltas.png", png)))
    for suite in dict.fromkeys(c.base.suite for c in comparisons):
        series = [(f"{s.label}: {s.runs[suite].run_id}", s.runs[suite].tally.latencies)
                  for s in sets if suite in s.runs]
        png = plots.latency_cdfs(series, f"{suite}: latency per run (lines further left are faster)")
        figures.append(h.figure(png, f"{suite} latency", "Share of requests finished within x seconds; dotted lines at 50% and 90% "
                                "(p50 and p90).", save_plot(plots_dir, f"{slug(suite)}-latency.png", png)))
    texts = FlipTexts(comparisons)
    body = [
        "<h1>Run comparison</h1>",
        f'<p class="lead">Each later run is compared with run {h.esc(sets[0].label)} on the items both answered. '
        "A change is <b>significant</b> when a paired test says it is unlikely to be noise "
        f"(p &lt; {h.esc(alpha)}). Flips are the individual items that changed; they are listed below.</p>",
        h.table(["run", "run id", "model", "directory"],
                [[s.label, ", ".join(r.run_id for r in s.runs.values()), ", ".join(sorted({str(r.results.get('model', '—')) for r in s.runs.values()})), s.path] for s in sets]),
        "<h2>Summary</h2>",
        "<ul>" + "".join(f"<li>{h.esc(sentence(c, alpha))}</li>" for c in comparisons) + "</ul>",
        _summary_table(comparisons, alpha),
        *(f'<p class="note">note: {h.esc(n)}</p>' for n in notes),
        f'<div class="plots">{"".join(figures)}</div>',
        "<h2>Flips</h2>", *(_flips(n, c, out_dir, texts) for n, c in enumerate(comparisons)),
    ]
    target = out_dir / "compare.html"
    h.write_page(target, "Run comparison", "".join(body))
    return target


def _summary_table(comparisons: list[Comparison], alpha: float) -> h.Raw:
    rows = []
    for n, c in enumerate(comparisons):
        cells: list = _row(c, alpha)
        cells[9] = h.Raw(f'<a href="#worse-{n}">−{len(c.worse)}</a> / <a href="#better-{n}">+{len(c.better)}</a>')
        cls = "bad" if c.verdict(alpha) == "WORSE" else ("ok" if c.verdict(alpha) == "better" else "muted")
        cells[14] = h.Raw(f'<span class="{cls}">{h.esc(c.verdict(alpha))}</span>')
        rows.append(cells)
    return h.table(HEADERS, rows)


def _flips(n: int, c: Comparison, out_dir: Path, texts: FlipTexts) -> str:
    binary = c.test == "McNemar exact"
    parts = [f"<h3>{h.esc(c.suite)} · {h.esc(c.metric)} · run {h.esc(c.base_label)} → {h.esc(c.other_label)}</h3>"]
    for kind, ids, title in (("worse", c.worse, "right → wrong" if binary else "score went down"),
                             ("better", c.better, "wrong → right" if binary else "score went up")):
        parts.append(f'<h3 id="{kind}-{n}">{h.esc(title)}: {len(ids)} item(s)</h3>')
        if len(ids) > MAX_FLIPS_SHOWN:
            parts.append(f'<p class="note">showing the first {MAX_FLIPS_SHOWN}; see the run reports for the rest.</p>')
        parts += [_flip(n, c, item, out_dir, texts) for item in ids[:MAX_FLIPS_SHOWN]]
    return "".join(parts)


def _flip(n: int, c: Comparison, item: str, out_dir: Path, texts: FlipTexts) -> str:
    a = texts.samples(c.base, item)
    b = texts.samples(c.other, item)
    links = []
    for label, run in ((c.base_label, c.base), (c.other_label, c.other)):
        href = relative_link(run.path / "report.html", out_dir)
        if href:
            links.append(f'<a href="{h.esc(href)}#item={h.esc(_quote(item))}">open in run {h.esc(label)} report</a>')
    body = [f'<p class="muted">{" · ".join(links)}</p>' if links else "",
            '<div class="role">question</div>', f"<pre>{h.esc(_cut(question(a or b)))}</pre>",
            '<div class="role">gold answer</div>', f"<pre>{h.esc(_cut(_gold(a or b)))}</pre>"]
    for label, samples in ((c.base_label, a), (c.other_label, b)):
        for s in samples:
            verdict = "error" if s.error else ("correct" if s.correct else "incorrect")
            body.append(f'<div class="role">run {h.esc(label)} · sample {s.sample} · {verdict} · extracted: {h.esc(_cut(s.extracted or "—", 200))}</div>')
            body.append(f"<pre>{h.esc(_cut(s.response if s.response is not None else (s.error or '(no response)')))}</pre>")
    anchor = f"flip-{n}-{slug(item)}"
    gist = f"gold {_cut(_gold(a or b), 40)} · {c.base_label}: {_answers(a)} · {c.other_label}: {_answers(b)}"
    return (f'<details class="flip" id="{h.esc(anchor)}"><summary>{h.esc(item)} <span class="muted">{h.esc(gist)}</span> '
            f'<a href="#{h.esc(anchor)}" class="muted">#</a></summary>{"".join(body)}</details>')


def _answers(samples: Sequence) -> str:
    shown = ", ".join(_cut(s.extracted if s.extracted is not None else ("error" if s.error else "—"), 30) for s in samples[:3])
    return shown + (" …" if len(samples) > 3 else "")


class FlipTexts:
    """The complete records (question, responses) of the items the flips show: each run's samples.jsonl is
    read once, keeping only those items, so a comparison of two 50,000-sample runs stays small."""

    def __init__(self, comparisons: list[Comparison]):
        self._wanted: dict[Path, set[str]] = {}
        self._loaded: dict[Path, dict[str, list]] = {}
        for c in comparisons:
            shown = set(c.worse[:MAX_FLIPS_SHOWN]) | set(c.better[:MAX_FLIPS_SHOWN])
            for run in (c.base, c.other):
                self._wanted.setdefault(run.path, set()).update(shown)

    def samples(self, run, item: str) -> list:
        if run.path not in self._loaded:
            found: dict[str, list] = {}
            for record in run.full_records(self._wanted.get(run.path, set())):
                found.setdefault(record.id, []).append(record)
            self._loaded[run.path] = found
        return sorted(self._loaded[run.path].get(item, []), key=lambda s: s.sample)


def _gold(samples: Sequence) -> str:
    return "—" if not samples else str(samples[0].gold)


def _cut(text: str, limit: int = SNIPPET) -> str:
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more characters]"


def _quote(item: str) -> str:
    from urllib.parse import quote

    return quote(item, safe="")

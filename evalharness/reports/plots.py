"""PNG charts for reports and comparisons (matplotlib, Agg canvas, no pyplot global state).

Each function takes already-computed numbers and returns PNG bytes; titles and axis labels say what is
shown and how to read it, because the charts are also shared on their own (plots/*.png).
"""

from __future__ import annotations

from typing import Sequence

from evalharness import stats

BLUE, ORANGE, GREEN, RED, GREY = "#2563eb", "#ea580c", "#16a34a", "#dc2626", "#6b7280"
PALETTE = [BLUE, ORANGE, GREEN, "#9333ea", "#0891b2", "#ca8a04", RED]


def _figure(width: float = 6.4, height: float = 3.6, cols: int = 1):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, cols)
    for ax in axes if cols > 1 else [axes]:
        ax.spines[["top", "right"]].set_visible(False)
        ax.grid(alpha=0.25)
    return fig, axes


def _png(fig) -> bytes:
    import io

    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _gap(upper: float, lower: float) -> float:
    """Error-bar length in percent; never negative (a Wilson bound at 0 or 1 can be off by 1e-16)."""
    return max(0.0, (upper - lower) * 100)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=GREY)
    ax.set_xticks([])
    ax.set_yticks([])


def _latency_marks(ax, ordered: Sequence[float], legend_loc: str) -> None:
    for q, color in zip((50, 90, 99), (GREEN, ORANGE, RED)):
        value = stats.percentile(ordered, q)
        ax.axvline(value, color=color, ls="--", lw=1.2, label=f"p{q} = {value:.2f} s")
    ax.legend(fontsize=8, loc=legend_loc)


def latency_histogram(latencies: Sequence[float], title: str) -> bytes:
    """How many requests took each duration, with p50/p90/p99 marked."""
    fig, ax = _figure()
    ax.set_title(f"{title}: request latency (lower is better)", fontsize=11)
    if not latencies:
        _empty(ax, "no latencies recorded")
        return _png(fig)
    ordered = sorted(latencies)
    ax.hist(ordered, bins=min(50, max(10, len(ordered) // 20)), color=BLUE, alpha=0.8)
    ax.set_xlabel("seconds per request")
    ax.set_ylabel("requests")
    _latency_marks(ax, ordered, "upper right")
    return _png(fig)


def latency_cdf(latencies: Sequence[float], title: str) -> bytes:
    """Share of requests finished within x seconds (empirical CDF), with p50/p90/p99 marked."""
    fig, ax = _figure()
    ax.set_title(f"{title}: share of requests done within x seconds", fontsize=11)
    if not latencies:
        _empty(ax, "no latencies recorded")
        return _png(fig)
    ordered = sorted(latencies)
    n = len(ordered)
    ax.plot(ordered, [(i + 1) / n * 100 for i in range(n)], color=BLUE)
    ax.set_xlabel("seconds per request")
    ax.set_ylabel("% of requests finished")
    ax.set_ylim(0, 102)
    _latency_marks(ax, ordered, "lower right")
    return _png(fig)


def throughput(tokens_per_s: Sequence[float], title: str) -> bytes:
    """Histogram of output tokens per second per request, median marked."""
    fig, ax = _figure()
    ax.set_title(f"{title}: output speed per request (higher is better)", fontsize=11)
    if not tokens_per_s:
        _empty(ax, "no token counts recorded (or all responses cached)")
        return _png(fig)
    ordered = sorted(tokens_per_s)
    ax.hist(ordered, bins=min(50, max(10, len(ordered) // 20)), color=GREEN, alpha=0.8)
    median = stats.percentile(ordered, 50)
    ax.axvline(median, color="black", ls="--", lw=1.2, label=f"median = {median:.1f} tokens/s")
    ax.set_xlabel("completion tokens / request latency (tokens per second)")
    ax.set_ylabel("requests")
    ax.legend(fontsize=8)
    return _png(fig)


def accuracy_by_length(points: Sequence[tuple[int, bool]], title: str) -> bytes:
    """Accuracy per response-length bin (equal-count bins), with Wilson 95% error bars."""
    fig, ax = _figure()
    ax.set_title(f"{title}: accuracy against response length", fontsize=11)
    if len(points) < 10:
        _empty(ax, "too few responses with token counts")
        return _png(fig)
    ordered = sorted(points)
    bins = min(8, max(2, len(ordered) // 25))
    xs, ys, lows, highs, labels = [], [], [], [], []
    for b in range(bins):
        chunk = ordered[b * len(ordered) // bins : (b + 1) * len(ordered) // bins]
        ok = sum(1 for _, c in chunk if c)
        lo, hi = stats.wilson_ci(ok, len(chunk))
        acc = ok / len(chunk)
        xs.append(b)
        ys.append(acc * 100)
        lows.append(_gap(acc, lo))
        highs.append(_gap(hi, acc))
        labels.append(f"{chunk[0][0]}–{chunk[-1][0]}")
    ax.errorbar(xs, ys, yerr=[lows, highs], fmt="o-", color=BLUE, capsize=3)
    ax.set_xticks(xs, labels, rotation=30, fontsize=8)
    ax.set_xlabel("response length (completion tokens; each bin holds the same number of responses)")
    ax.set_ylabel("% correct (95% CI)")
    ax.set_ylim(0, 105)
    return _png(fig)


def groups(rows: Sequence[tuple[str, float, tuple[float, float], int]], title: str, metric: str) -> bytes:
    """Horizontal bars: metric per category with 95% CI whiskers and the item count."""
    height = max(2.4, 0.28 * len(rows) + 1.2)
    fig, ax = _figure(6.4, height)
    ax.set_title(title, fontsize=11)
    names = [f"{name} (n={n})" for name, _, _, n in rows]
    values = [v * 100 for _, v, _, _ in rows]
    err = [[_gap(v, ci[0]) for _, v, ci, _ in rows], [_gap(ci[1], v) for _, v, ci, _ in rows]]
    ax.barh(names, values, xerr=err, color=BLUE, alpha=0.8, capsize=2, error_kw={"lw": 0.8})
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"{metric} % (bar) with 95% CI (whisker)")
    ax.tick_params(axis="y", labelsize=8)
    return _png(fig)


def problems(counts: dict[str, int], title: str) -> bytes:
    """Bar chart of failed requests, retries, truncated and cached responses."""
    fig, ax = _figure(6.4, 3.0)
    ax.set_title(f"{title}: errors and retries (of {counts['samples']} completions)", fontsize=11)
    labels = ["failed (error)", "retries", "cut off (length)", "from cache"]
    values = [counts["errors"], counts["retries"], counts["truncated"], counts["cached"]]
    bars = ax.bar(labels, values, color=[RED, ORANGE, "#ca8a04", GREY])
    ax.bar_label(bars, labels=[str(v) for v in values], fontsize=9)
    ax.set_ylabel("count")
    ax.margins(y=0.2)
    return _png(fig)


def metric_points(rows: Sequence[tuple[str, float, tuple[float, float]]], title: str, xlabel: str) -> bytes:
    """One dot per row with its 95% CI, e.g. a metric per run or a delta per comparison (0 marked)."""
    height = max(2.2, 0.42 * len(rows) + 1.2)
    fig, ax = _figure(6.4, height)
    ax.set_title(title, fontsize=11)
    ys = list(range(len(rows)))
    for y, (label, value, (lo, hi)) in zip(ys, rows):
        color = GREY if lo <= 0 <= hi and "delta" in xlabel else (RED if value < 0 and "delta" in xlabel else BLUE)
        ax.errorbar([value * 100], [y], xerr=[[_gap(value, lo)], [_gap(hi, value)]], fmt="o",
                    color=color, capsize=4)
    ax.set_yticks(ys, [r[0] for r in rows], fontsize=8)
    ax.invert_yaxis()
    if "delta" in xlabel:
        ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(xlabel)
    return _png(fig)


def latency_cdfs(series: Sequence[tuple[str, Sequence[float]]], title: str) -> bytes:
    """Overlaid latency CDFs, one line per run, to see a shift at the median and in the tail."""
    fig, ax = _figure()
    ax.set_title(title, fontsize=11)
    for (label, values), color in zip(series, PALETTE * 3):
        ordered = sorted(values)
        if ordered:
            n = len(ordered)
            ax.plot(ordered, [(i + 1) / n * 100 for i in range(n)], color=color, label=label)
    for q in (50, 90):
        ax.axhline(q, color=GREY, lw=0.6, ls=":")
    ax.set_xlabel("seconds per request")
    ax.set_ylabel("% of requests finished")
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def card_bars(rows: Sequence[tuple[str, float, float | None, tuple[float, float] | None]], title: str) -> bytes:
    """Card figure against ours per benchmark (percent): grey bar = the card, blue bar = measured with its
    95% interval; a benchmark without a measurement shows the card bar alone."""
    fig, ax = _figure(7.2, 0.9 + 0.42 * max(1, len(rows)))
    if not rows:
        _empty(ax, "no rows")
        return _png(fig)
    ax.set_title(title, fontsize=11)
    names = [name for name, _, _, _ in rows][::-1]
    ys = list(range(len(rows)))
    height = 0.38
    for y, (_, card, ours, ci) in zip(ys, rows[::-1]):
        ax.barh(y + height / 2, card, height, color=GREY, alpha=0.6)
        if ours is None:
            ax.text(1, y - height / 2, "not run", va="center", fontsize=8, color=GREY)
            continue
        err = [[max(0.0, ours - ci[0])], [max(0.0, ci[1] - ours)]] if ci else None
        ax.barh(y - height / 2, ours, height, color=BLUE, xerr=err, ecolor="#1e3a8a", capsize=2)
    ax.set_yticks(ys, names, fontsize=8)
    ax.set_xlim(0, 100)
    ax.set_xlabel("score % (grey: model card, blue: measured here with 95% CI)")
    return _png(fig)

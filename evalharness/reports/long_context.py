"""The report's long-context section for a generated run (length x depth grid): effective length, the
accuracy heatmap, accuracy by length with 95% intervals, and prefill speed against prompt length.

Every number comes from `evalharness.long_context.summarize` over the run's samples (the code that wrote
results.json's `long_context`), so report and results agree. Charts are PNG bytes like `plots.py`'s.
"""

from __future__ import annotations

from typing import Any, Callable

from evalharness.reports import html as h
from evalharness.reports.plots import BLUE, GREEN, GREY, ORANGE, RED, _empty, _figure, _gap, _png

STREAM_HINT = "time to first token needs a streaming endpoint: set `options: {stream: true}` in the profile"


def tokens_label(length: int) -> str:
    return f"{length // 1024}K" if length % 1024 == 0 else str(length)


def heatmap(section: dict[str, Any], title: str) -> bytes:
    """Accuracy per cell, depth (rows, 0% at the top) x length (columns); grey = over the context."""
    import numpy as np

    lengths, depths = section["lengths"], section["depths"]
    over = {(c["length"], c["depth"]) for c in section["cells"] if c["over_context"] and not c["n"]}
    grid = np.array([[np.nan if v is None else v * 100 for v in row] for row in section["heatmap"]["accuracy"]],
                    dtype=float)
    fig, ax = _figure(max(5.0, 0.75 * len(lengths) + 2.4), max(3.0, 0.32 * len(depths) + 1.6))
    ax.grid(False)
    ax.set_title(f"{title}: needle found (%), by context length and depth", fontsize=11)
    image = ax.imshow(np.ma.masked_invalid(grid), cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    image.cmap.set_bad("#d1d5db")
    for i, depth in enumerate(depths):
        for j, length in enumerate(lengths):
            value = grid[i, j]
            text = "over" if (length, depth) in over else ("–" if np.isnan(value) else f"{value:.0f}")
            ax.text(j, i, text, ha="center", va="center", fontsize=7, color="black")
    ax.set_xticks(range(len(lengths)), [tokens_label(x) for x in lengths])
    ax.set_yticks(range(len(depths)), [f"{d}%" for d in depths], fontsize=8)
    ax.set_xlabel("context length (tokens: prompt + room for the answer)")
    ax.set_ylabel("needle depth in the text")
    fig.colorbar(image, ax=ax, label="% found")
    return _png(fig)


def by_length(section: dict[str, Any], title: str) -> bytes:
    """Accuracy per length with 95% intervals, the threshold and the effective length."""
    fig, ax = _figure()
    ax.set_title(f"{title}: accuracy by context length (95% CI)", fontsize=11)
    rows = [(int(length), row) for length, row in section["by_length"].items()]
    measured = [(length, row) for length, row in rows if row["accuracy"] is not None]
    if not measured:
        _empty(ax, "no length had a sample within the endpoint's context")
        return _png(fig)
    xs = [rows.index((length, row)) for length, row in measured]
    ys = [row["accuracy"] * 100 for _, row in measured]
    low = [_gap(row["accuracy"], row["ci95"][0]) for _, row in measured]
    high = [_gap(row["ci95"][1], row["accuracy"]) for _, row in measured]
    ax.errorbar(xs, ys, yerr=[low, high], fmt="o-", color=BLUE, capsize=3, label="accuracy")
    ax.axhline(section["threshold"] * 100, color=ORANGE, ls="--", lw=1, label=f"threshold {section['threshold']:.1%}")
    effective = section["effective_length"]
    if effective is not None:
        ax.axvline([length for length, _ in rows].index(effective), color=GREEN, ls=":", lw=1.5,
                   label=f"effective length {tokens_label(effective)}")
    for x, (length, row) in enumerate(rows):
        if row["over_context"]:
            ax.text(x, 3, "over\ncontext", ha="center", fontsize=7, color=RED)
    ax.set_xticks(range(len(rows)), [tokens_label(length) for length, _ in rows])
    ax.set_xlabel("context length (tokens)")
    ax.set_ylabel("% correct")
    ax.set_ylim(0, 105)
    ax.legend(fontsize=8, loc="lower left")
    return _png(fig)


def prefill(section: dict[str, Any], title: str) -> bytes:
    """Time to first token and prompt tokens/s against the prompt's length (medians per grid length)."""
    rows = [row for row in section["prefill"]["by_length"].values() if row["prompt_tokens"]]
    fig, (left, right) = _figure(9.6, 3.4, cols=2)
    fig.suptitle(f"{title}: prefill speed against prompt length (medians per length)", fontsize=11)
    if not section["prefill"]["streamed"]:
        points = [(row["prompt_tokens"], row["latency_s"]) for row in rows if row["latency_s"]]
        if points:
            left.plot(*zip(*points), "o-", color=GREY)
            left.set_xlabel("prompt tokens (endpoint's count)")
            left.set_ylabel("request latency (s)")
            left.set_title("whole request (no time to first token)", fontsize=9)
        else:
            _empty(left, "no successful requests")
        _empty(right, "time to first token needs a streaming endpoint:\nset options: {stream: true} in the profile")
        return _png(fig)
    ttft = [(row["prompt_tokens"], row["ttft_s"]) for row in rows if row["ttft_s"]]
    speed = [(row["prompt_tokens"], row["prompt_tokens_per_s"]) for row in rows if row["prompt_tokens_per_s"]]
    for ax, points, label, color in ((left, ttft, "time to first token (s)", BLUE),
                                     (right, speed, "prompt tokens per second", GREEN)):
        if points:
            ax.plot(*zip(*points), "o-", color=color)
            ax.set_xscale("log", base=2)
        ax.set_xlabel("prompt tokens (endpoint's count)")
        ax.set_ylabel(label)
    return _png(fig)


def section_html(results_section: dict[str, Any], title: str, figure: Callable[[str, bytes, str, str], str]) -> str:
    """Cards, charts and the by-length table; `figure(kind, png, alt, caption)` saves a chart and returns
    its markup."""
    s = results_section
    charts = [
        figure("heatmap", heatmap(s, title), "accuracy heatmap",
               "Each square is one context length and needle depth: the share of samples whose answer held the "
               "needle's value. Grey squares marked 'over' did not fit the endpoint's context (not counted wrong)."),
        figure("accuracy-by-length", by_length(s, title), "accuracy by context length",
               "Accuracy over all depths per length, with 95% intervals; the effective length is the longest "
               "length up to which every length stays at or above the threshold."),
        figure("prefill", prefill(s, title), "prefill speed",
               "How long the endpoint takes to read the prompt (time to first token) and how many prompt tokens "
               "it reads per second, against the prompt's length."
               + ("" if s["prefill"]["streamed"] else " " + STREAM_HINT)),
    ]
    effective = s["effective_length"]
    over = sum(row["over_context"] for row in s["by_length"].values())
    cards = [
        h.card("effective length", f"{effective:,} tokens" if effective else "none",
               f"every length up to it ≥ {s['threshold']:.1%}"),
        h.card("over the context", str(over), "samples the endpoint could not take (left out)"),
        h.card("token counts", s.get("count_method") or "—", "how prompt lengths were measured"),
    ]
    prefill_rows = s["prefill"]["by_length"]
    rows = []
    for length, row in s["by_length"].items():
        speed = prefill_rows.get(length, {})
        rows.append([
            f"{int(length):,}", h.pct(row["accuracy"]) if row["accuracy"] is not None else "—",
            h.pct_ci(row["ci95"]) if row["ci95"] else "—", row["n"], row["over_context"],
            f"{speed['prompt_tokens']:,.0f}" if speed.get("prompt_tokens") else "—",
            f"{speed['ttft_s']:.2f}" if speed.get("ttft_s") else "—",
            f"{speed['prompt_tokens_per_s']:,.0f}" if speed.get("prompt_tokens_per_s") else "—",
        ])
    table = h.table(["length", "accuracy", "95% CI", "samples", "over context", "prompt tokens (median)",
                     "ttft s (median)", "prompt tokens/s"], rows)
    return (f'<h3>Long context</h3><div class="cards">{"".join(cards)}</div>'
            f'<div class="plots">{"".join(charts)}</div>{table}')

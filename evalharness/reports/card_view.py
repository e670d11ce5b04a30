"""card.html: the model card's figures beside ours, one self-contained page (same safety contract as
reports/html.py: escaped text, a CSP that allows no script and no request, the chart as a data URI)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from evalharness.reports import html as h

VERDICT_CLASS = {"consistent with the card": "ok", "lower than the card": "bad", "higher than the card": "ok"}


def write_card_html(target: Path, rows: list[Any], info: dict[str, Any]) -> None:
    from evalharness.reports import plots

    chart = plots.card_bars([(r.benchmark, r.card, r.measured, tuple(r.ci95) if r.ci95 else None) for r in rows],
                            f"{info.get('model_card')} card vs {info.get('model')}")
    (target.parent / "plots").mkdir(exist_ok=True)
    (target.parent / "plots" / "card.png").write_bytes(chart)
    body = [
        f"<h1>Model card check: {h.esc(info.get('model_card'))}</h1>",
        f'<p class="lead">Each benchmark of the model card, run against <b>{h.esc(info.get("model"))}</b> at '
        f"{h.esc(info.get('base_url') or info.get('provider'))}. Our score has a 95% confidence interval; the "
        "verdict is <i>consistent</i> when the card's figure lies inside it, <i>lower</i> or <i>higher</i> "
        "when the whole interval is below or above it. Settings we cannot reproduce exactly are noted.</p>",
        h.table(["benchmark", "card setting", "card", "ours", "95% CI", "difference", "verdict", "items",
                 "no answer found", "our setting", "note", "run directory"], [_cells(r) for r in rows]),
        '<div class="plots">' + h.figure(chart, "card vs measured", "Grey: the card's figure. Blue: measured "
                                          "here, whiskers the 95% interval.", "card.png") + "</div>",
        "<h3>Source</h3>" + h.table(["", ""], [
            ["model card", info.get("source")], ["published", info.get("published") or "—"],
            ["transcribed", info.get("transcribed") or "—"], ["card file", info.get("card")],
            ["items per suite (--limit)", info.get("limit") or "all"], ["created", info.get("created")]]),
    ]
    target.write_text(h.page(f"Model card check: {info.get('model_card')}", "".join(body)), encoding="utf-8")


def _cells(row: Any) -> list[Any]:
    if row.measured is None:
        return [row.benchmark, row.setting, f"{row.card:.1f}", "—", "", "",
                h.Raw(f'<span class="muted">{h.esc(row.status)}: {h.esc(row.reason)}</span>'), "", "", "",
                row.note or "", row.run_dir or ""]
    ci = f"{row.ci95[0]:.1f}–{row.ci95[1]:.1f}" if row.ci95 else ""
    verdict = row.verdict if row.status == "run" else f"{row.status}: {row.reason}"
    cls = VERDICT_CLASS.get(row.verdict or "", "bad")
    average = f" ({row.average} average)" if row.average else ""
    return [row.benchmark, row.setting, f"{row.card:.1f}", f"{row.measured:.1f}", ci, f"{row.difference:+.1f}",
            h.Raw(f'<span class="{cls}">{h.esc(verdict)}</span>'), row.items, row.unextracted,
            (row.our_setting or "") + average, row.note or "", row.run_dir]

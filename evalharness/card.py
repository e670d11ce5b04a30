"""`evalharness card`: run a model card's benchmarks against one endpoint and set our figures beside the
card's. "Does Phi-4-Mini on *my* endpoint still score what Microsoft published?" in one command.

The card's figures live in a data file (configs/cards/phi-4-mini-instruct.yaml: model, source, date, and
one row per benchmark: name, setting, score, the suite that measures it). Each selected row's suite runs
as an ordinary `evalharness run` would (same provider, same response cache, a normal run directory under
the card directory's `runs/`, comparable with `compare`), one after the other.

A row's verdict, from our 95% interval of `metrics.accuracy` (the suite's headline, averaged as the card
averages): "consistent with the card" when the card's figure lies inside it, "lower than the card" when
the whole interval is below, "higher than the card" when above. A row whose suite file does not exist is
kept and marked "not run" with the reason; so is every row after a fatal endpoint error.

Outputs (in the card directory, printed last by the command line): `card.json`, a list of rows (card and
measured figures in percent, interval, difference, verdict, counts, run directory), and `card.html`
(reports/card_view.py).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from evalharness.errors import UserError
from evalharness.schema import Strict, convert

DEFAULT_CARD = Path("configs") / "cards" / "phi-4-mini-instruct.yaml"
CHECKOUT = Path(__file__).resolve().parents[1]
CONSISTENT, LOWER, HIGHER = "consistent with the card", "lower than the card", "higher than the card"


class CardRowFile(Strict, frozen=True):
    benchmark: str
    setting: str
    score: float
    suite: str
    note: str | None = None
    key: str | None = None  # how --suites names the row (default: the suite file's stem)
    metric: str = "accuracy"  # the results.json metric the card's figure corresponds to (e.g. pass@1)


class CardFile(Strict, frozen=True):
    model: str
    source: str
    rows: list[CardRowFile]
    published: str | None = None
    transcribed: str | None = None


@dataclass
class CardRow:
    """One row of the output: what the card says and what we measured (percent)."""

    key: str
    benchmark: str
    setting: str
    card: float
    suite: str
    metric: str = "accuracy"
    status: str = "not run"  # run | not run | failed
    measured: float | None = None
    ci95: list[float] | None = None
    difference: float | None = None
    verdict: str | None = None
    average: str | None = None  # macro | micro (families) or None
    our_setting: str | None = None
    items: int | None = None
    n: int | None = None
    errors: int | None = None
    unextracted: int | None = None
    run_dir: str | None = None
    note: str | None = None
    reason: str | None = None  # why a row was not run
    card_model: str | None = None  # whose card the figure is from
    source: str | None = None
    endpoint_model: str | None = None  # what was measured


def load_card(path: Path) -> CardFile:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UserError(f"card file not found: {path} (the shipped one is {DEFAULT_CARD})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path}: not valid YAML ({getattr(exc, 'problem', None) or exc})") from None
    card = convert(data, CardFile, source=str(path), root="card")
    keys = [row_key(row) for row in card.rows]
    duplicate = next((k for k in keys if keys.count(k) > 1), None)
    if duplicate:
        raise UserError(f"{path}: rows: two rows are named {duplicate!r}; give one a `key:`")
    return card


def row_key(row: CardRowFile) -> str:
    return row.key or Path(row.suite).stem


def select_rows(card: CardFile, wanted: list[str], swaps: dict[str, str]) -> list[CardRow]:
    """The rows to run, in the card's order: all, or those named by `wanted` (row keys); `swaps` measures
    a row with another suite file (`--set-suite math=suites/math500.yaml`)."""
    keys = [row_key(row) for row in card.rows]
    for name in [*wanted, *swaps]:
        if name not in keys:
            raise UserError(f"no card row {name!r}; rows are {', '.join(keys)}")
    rows = []
    for row, key in zip(card.rows, keys):
        if wanted and key not in wanted:
            continue
        rows.append(CardRow(key=key, benchmark=row.benchmark, setting=row.setting, card=row.score, metric=row.metric,
                            suite=swaps.get(key, row.suite), note=row.note, card_model=card.model,
                            source=card.source))
    return rows


def suite_path(name: str) -> Path | None:
    """A row's suite file: as given (absolute, or relative to the current directory), else in the checkout."""
    for candidate in (Path(name), CHECKOUT / name):
        if candidate.is_file():
            return candidate
    return None


def verdict(card: float, low: float, high: float) -> str:
    if card < low:
        return HIGHER
    if card > high:
        return LOWER
    return CONSISTENT


def fill(row: CardRow, results: dict[str, Any], run_dir: Path, description: str) -> None:
    """Put a finished run's headline figure, interval and counts into its row."""
    metric = (results.get("metrics") or {}).get(row.metric)
    if metric is None:
        row.status, row.reason, row.run_dir = "failed", f"the run has no metric {row.metric!r}", str(run_dir)
        return
    row.measured = round(metric["value"] * 100, 2)
    row.ci95 = [round(metric["ci95"][0] * 100, 2), round(metric["ci95"][1] * 100, 2)]
    row.difference = round(row.measured - row.card, 2)
    row.verdict = verdict(row.card, *row.ci95)
    row.average = (results.get("family") or {}).get("aggregate")
    row.items, row.n = results.get("items"), results.get("n")
    row.errors, row.unextracted = results.get("errors"), results.get("unextracted")
    row.run_dir, row.our_setting = str(run_dir), description
    row.endpoint_model = results.get("model")
    if results.get("aborted"):
        row.status, row.reason = "failed", f"stopped: {results['aborted']}"
    elif row.n and row.errors == row.n:
        row.status, row.reason = "failed", f"all {row.n} requests failed, e.g. {results.get('first_error')}"
        row.verdict = None
    else:
        row.status = "run"


async def run_rows(rows: list[CardRow], provider: Any, cache: Any, options: Any, overrides: list[str]) -> str | None:
    """Run each row's suite in turn (`runner.run_suite`); returns the fatal endpoint error that stopped
    the card, if one did. Rows whose suite file is missing or does not load are marked and skipped."""
    from evalharness.runner import run_suite
    from evalharness.suite import load_suite

    for i, row in enumerate(rows):
        path = suite_path(row.suite)
        if path is None:
            row.reason = f"suite file {row.suite} not found"
            continue
        try:
            suite = load_suite(path, overrides)
        except UserError as exc:
            row.reason = f"suite did not load: {exc}"
            continue
        try:
            outcome = await run_suite(suite, provider, cache, options)
        except UserError as exc:  # e.g. its data is missing: the other rows still run
            row.reason = str(exc)
            continue
        fill(row, outcome.results, outcome.run_dir, suite.description)
        if outcome.aborted:
            for later in rows[i + 1:]:
                later.reason = "not run: the endpoint failed fatally on an earlier row"
            return outcome.aborted
    return None


def card_dir(output_dir: Path, model: str | None) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    slug = re.sub(r"[^A-Za-z0-9.]+", "-", (model or "model").split("/")[-1]).strip("-").lower() or "model"
    target = Path(output_dir) / f"{stamp}-card-{slug}"
    suffix = 1
    while target.exists():
        suffix += 1
        target = Path(output_dir) / f"{stamp}-card-{slug}-{suffix}"
    try:
        (target / "runs").mkdir(parents=True)
    except OSError as exc:
        raise UserError(f"cannot create card directory {target}: {exc.strerror}; pass --output-dir DIR") from None
    return target


def write_outputs(target: Path, rows: list[CardRow], info: dict[str, Any]) -> None:
    """card.json (the list of rows) and card.html."""
    from evalharness.reports.card_view import write_card_html

    (target / "card.json").write_text(json.dumps([asdict(row) for row in rows], indent=2, ensure_ascii=False) + "\n",
                                      encoding="utf-8")
    write_card_html(target / "card.html", rows, info)


def table(rows: list[CardRow]) -> str:
    """The terminal table: benchmark, card setting, card score, ours with 95% CI, difference, verdict."""
    head = ("benchmark", "card setting", "card", "ours", "95% CI", "diff", "verdict")
    lines = []
    for row in rows:
        if row.measured is None:
            lines.append((row.benchmark, row.setting, f"{row.card:.1f}", "—", "", "", f"{row.status}: {row.reason}"))
            continue
        ci = f"[{row.ci95[0]:.1f}, {row.ci95[1]:.1f}]" if row.ci95 else ""
        status = row.verdict if row.status == "run" else f"{row.status}: {row.reason}"
        lines.append((row.benchmark, row.setting, f"{row.card:.1f}", f"{row.measured:.1f}", ci,
                      f"{row.difference:+.1f}", status or ""))
    widths = [max(len(str(r[i])) for r in [head, *lines]) for i in range(len(head) - 1)]
    out = []
    for r in [head, *lines]:
        out.append("  ".join(str(cell).ljust(width) for cell, width in zip(r, widths)) + "  " + r[-1])
    return "\n".join(line.rstrip() for line in out)


@dataclass
class CardRun:
    """A finished card: its rows, its directory, and the fatal endpoint error that stopped it (if any)."""

    rows: list[CardRow]
    directory: Path
    aborted: str | None = None


async def run_card(card_path: Path, wanted: list[str], swaps: dict[str, str], provider: Any, cache: Any,
                   options: Any, overrides: list[str], output_dir: Path, endpoint: dict[str, Any]) -> CardRun:
    """Load the card, run the selected rows' suites (runs under <card dir>/runs), write card.json and
    card.html. `options` is the runner's RunOptions; its output_dir is set to the card's runs folder."""
    card = load_card(card_path)
    rows = select_rows(card, wanted, swaps)
    target = card_dir(output_dir, provider.describe().get("model"))
    options.output_dir = target / "runs"
    try:
        aborted = await run_rows(rows, provider, cache, options, overrides)
    finally:
        await provider.aclose()
    described = provider.describe()
    info = {"card": str(card_path), "model_card": card.model, "source": card.source, "published": card.published,
            "transcribed": card.transcribed, "model": described.get("model"), "base_url": described.get("base_url"),
            "provider": described.get("provider"), "limit": options.limit, "endpoint": endpoint,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    write_outputs(target, rows, info)
    return CardRun(rows, target, aborted)

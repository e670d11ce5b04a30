"""The run-directory catalogue: what a run was (its fingerprint), how far it got, and whether it can be resumed.

A run's config.yaml records a `fingerprint` (hashes of the suite as loaded, of the model identity the cache
keys on, and of the generation settings) and `planned` (how many samples the run meant to produce). A run is
*finished* when results.json exists, is not aborted and has every planned sample; anything else (killed,
interrupted, stopped by a fatal error, samples that failed) is *unfinished* and can be continued with
`evalharness run ... --resume RUN_DIR`: it keeps the samples already answered, queries only what is missing,
and refuses when the suite, the model or the generation settings differ from the directory's.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalharness.errors import UserError


def _digest(value: Any) -> str:
    blob = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]


def fingerprint(suite_raw: dict[str, Any], identity: dict[str, Any], generation: list[dict[str, Any]],
                limit: int | None, data_file: str | None) -> dict[str, str]:
    """Hashes of what makes two runs the same: the suite (and which items: --limit, --data), the model,
    the generation settings of every task."""
    suite = {k: v for k, v in suite_raw.items() if k not in ("generation",)}
    return {"suite": _digest([suite, limit, data_file]), "model": _digest(identity), "generation": _digest(generation)}


WHAT_DIFFERS = {"suite": "the suite (or --limit/--data)", "model": "the model or endpoint identity",
                "generation": "the generation settings"}


@dataclass
class RunStatus:
    path: Path
    suite: str
    model: str
    done: int          # samples answered (no error) in samples.jsonl
    failed: int        # samples recorded with an error
    planned: int | None
    finished: bool
    reason: str        # why it is unfinished ("killed", "interrupted by the user", ...), "" when finished
    fingerprint: dict[str, str]

    @property
    def progress(self) -> str:
        return f"{self.done}/{self.planned}" if self.planned else f"{self.done}/?"


def status_of(run_dir: Path) -> RunStatus | None:
    """The state of one run directory, or None when it is not one (no config.yaml)."""
    import yaml

    config_file = run_dir / "config.yaml"
    if not config_file.is_file():
        return None
    try:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return None
    done = failed = 0
    seen: dict[tuple[str, int], bool] = {}
    samples = run_dir / "samples.jsonl"
    if samples.is_file():
        with samples.open("rb") as handle:
            for line in handle:
                try:
                    row = json.loads(line)
                    seen[(str(row["id"]), int(row.get("sample") or 0))] = not row.get("error")
                except (ValueError, KeyError, TypeError):
                    continue  # a torn last line of a killed run
        done = sum(seen.values())
        failed = len(seen) - done
    results = _results(run_dir)
    planned = config.get("planned")
    reason = ""
    if results is None:
        reason = "killed (no results.json)"
    elif results.get("aborted"):
        reason = str(results["aborted"])
    elif planned and done < planned:
        reason = f"{planned - done} sample(s) missing or failed"
    suite = (config.get("suite") or {}).get("name", "?") if isinstance(config.get("suite"), dict) else "?"
    model = (config.get("provider") or {}).get("model") or "?"
    return RunStatus(run_dir, suite, str(model), done, failed, planned, not reason, reason,
                     dict(config.get("fingerprint") or {}))


def _results(run_dir: Path) -> dict[str, Any] | None:
    try:
        return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def list_runs(output_dir: Path) -> list[RunStatus]:
    if not output_dir.is_dir():
        return []
    found = (status_of(p) for p in sorted(output_dir.iterdir()) if p.is_dir())
    return [s for s in found if s is not None]


def find_unfinished(output_dir: Path, fp: dict[str, str]) -> list[RunStatus]:
    """Unfinished runs of exactly this suite, model and settings (candidates for --resume)."""
    return [s for s in list_runs(output_dir) if not s.finished and s.fingerprint == fp]


def check_resumable(run_dir: Path, fp: dict[str, str]) -> RunStatus:
    """The run directory's status, or a UserError saying why it cannot be continued with these settings."""
    status = status_of(run_dir)
    if status is None:
        raise UserError(f"--resume {run_dir}: not a run directory (no config.yaml); pass a folder under reports/runs")
    if not status.fingerprint:
        raise UserError(f"--resume {run_dir}: written by an older evalharness without a fingerprint; start a new run")
    differs = [WHAT_DIFFERS[key] for key in ("suite", "model", "generation") if status.fingerprint.get(key) != fp[key]]
    if differs:
        raise UserError(f"--resume {run_dir}: {' and '.join(differs)} differ from that run's config.yaml; "
                        "resume with the same suite, --set overrides, endpoint and --limit, or start a new run")
    return status

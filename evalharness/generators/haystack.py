"""Haystack text for long-context items: essays (or plain filler sentences) cut to a size, with needles
inserted at sentence boundaries.

- Essays: every `*.txt` of a folder in sorted name order, concatenated as they are (the needle test's
  Paul Graham essays, `$EVALHARNESS_DATA_DIR/haystack/PaulGrahamEssays`; sorted so every machine builds the
  same text, where `glob` order depends on the file system), or the `text` column of a Hugging Face dataset
  (`baber/paul_graham_essays`, what lm-eval's RULER reads), rows joined by blank lines. A prompt longer
  than the source repeats it.
- Noise: a few plain sentences repeated (RULER's "noise" haystack idea, in our own words).
- Sizes are characters. A prefix is cut back to the last whitespace, so no word is split.
- Sentence boundaries: after `.`, `!` or `?` (and closing quotes or brackets) followed by whitespace and a
  capital, digit, quote or bracket, or directly by a capital (the essay files lost their paragraph
  breaks: "accelerating.We wouldn't"); a period after a single capital or a common abbreviation (Mr.,
  e.g., U.S.) is not one. The start of the haystack is a boundary, and so is its end when the prefix
  ends a sentence; otherwise the last boundary is before the prefix's unfinished last sentence, so a
  needle at 100% sits a sentence before the end rather than after half a sentence.
- A needle goes at the boundary nearest to its depth (that fraction of the haystack's characters), with a
  space on each side where the text has none; the depth it really got is returned with the text.
"""

from __future__ import annotations

import bisect
import os
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import msgspec

from evalharness.errors import UserError
from evalharness.schema import Strict
from evalharness.suite_schema import HubSpec

DATA_DIR_ENV = "EVALHARNESS_DATA_DIR"
NOISE = ("The river runs down to the sea. The hills stay quiet in the evening. Birds sing before the sun "
         "comes up. The road goes on past the farm. Night follows the day again. ")
_BOUNDARY = re.compile(r"""[.!?]["')\]]*(?:\s+(?=["'(\[]?[A-Z0-9])|(?=[A-Z]))""")
_ENDS_SENTENCE = re.compile(r"""[.!?]["')\]]*\s*$""")
_ABBREVIATIONS = frozenset({"Mr", "Mrs", "Ms", "Dr", "St", "Jr", "Sr", "vs", "e.g", "i.e", "U.S", "U.K", "Inc",
                            "Co", "Ltd", "No", "cf", "al"})


class HaystackSource(Strict, frozen=True):
    """Where the essays come from, tried in order: `path` (a folder of .txt files or one text file,
    relative to the suite), `$EVALHARNESS_DATA_DIR/<local>`, the Hugging Face hub (`hf`, column `column`)."""

    local: str | None = "haystack/PaulGrahamEssays"
    path: str | None = None
    hf: HubSpec | None = msgspec.field(default_factory=lambda: HubSpec(path="baber/paul_graham_essays",
                                                                        split="train"))
    column: str = "text"


class Haystack:
    """A text with its sentence boundaries; grows by repeating itself when a prompt needs more."""

    def __init__(self, text: str, joiner: str = "\n\n"):
        if not text.strip():
            raise UserError("the haystack text is empty")
        self.base = text
        self.joiner = joiner
        self.text = text
        self.starts = sentence_starts(text)

    def _grow(self, size: int) -> None:
        if len(self.text) >= size:
            return
        repeats = -(-(size - len(self.text)) // (len(self.base) + len(self.joiner)))
        self.text += (self.joiner + self.base) * repeats
        self.starts = sentence_starts(self.text)

    def prefix_end(self, size: int) -> int:
        """Where a prefix of about `size` characters ends: at the last whitespace at or before `size`."""
        size = max(0, int(size))
        self._grow(size + 1)
        if size == 0:
            return 0
        cut = max(self.text.rfind(" ", 0, size + 1), self.text.rfind("\n", 0, size + 1))
        return cut if cut > 0 else size

    def build(self, size: int, needles: list[tuple[float, str]]) -> tuple[str, list[float]]:
        """The haystack's first ~`size` characters with each `(depth %, sentence)` needle inserted at the
        sentence boundary nearest to that depth. Returns the text and each needle's real depth in percent
        of the haystack (in the order given); needles at one boundary keep their order."""
        end = self.prefix_end(size)
        hay = self.text[:end]
        lo, hi = bisect.bisect_right(self.starts, 0), bisect.bisect_left(self.starts, end)
        candidates = [0, *self.starts[lo:hi]] + ([end] if _ENDS_SENTENCE.search(hay[-8:]) else [])
        placed = []
        for order, (depth, sentence) in enumerate(needles):
            target = max(0.0, min(100.0, depth)) / 100 * end
            i = bisect.bisect_left(candidates, target)
            near = min((c for c in candidates[max(0, i - 1):i + 1]), key=lambda c: (abs(c - target), c))
            placed.append((near, order, sentence))
        parts, last = [], 0
        for position, _, sentence in sorted(placed):
            parts += [hay[last:position], sentence]
            last = position
        parts.append(hay[last:])
        depths = [round(100 * p / end, 2) if end else 0.0 for p, _, _ in placed]
        return _join_spaced(parts), depths


def _join_spaced(parts: list[str]) -> str:
    """Concatenate, with one space between two parts that would otherwise touch without whitespace."""
    out: list[str] = []
    for part in parts:
        if not part:
            continue
        if out and not out[-1][-1].isspace() and not part[0].isspace():
            out.append(" ")
        out.append(part)
    return "".join(out)


def sentence_starts(text: str) -> list[int]:
    """Sorted character offsets where a sentence starts (see the module docstring)."""
    starts = []
    for match in _BOUNDARY.finditer(text):
        if not _after_abbreviation(text, match.start()):
            starts.append(match.end())
    return starts


def _after_abbreviation(text: str, dot: int) -> bool:
    if text[dot] != ".":
        return False
    start = dot
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] == "."):
        start -= 1
    word = text[start:dot]
    return word in _ABBREVIATIONS or (len(word) == 1 and word.isupper())


def load_haystack(kind: str, source: HaystackSource, base_dir: Path, label: str) -> Haystack:
    """The haystack a generator asked for: `noise`, or `essays` from `source` (UserError naming every place
    tried when none has them)."""
    if kind == "noise":
        return Haystack(NOISE, joiner="")
    text, where = _essay_text(source, base_dir, label)
    return _haystack_of(text, where)


@lru_cache(maxsize=4)
def _haystack_of(text: str, where: str) -> Haystack:
    return Haystack(text)


def _essay_text(source: HaystackSource, base_dir: Path, label: str) -> tuple[str, str]:
    tried: list[str] = []
    candidates: list[Path] = []
    if source.path:
        path = Path(source.path)
        candidates.append(path if path.is_absolute() else base_dir / path)
    if source.local:
        data_dir = os.environ.get(DATA_DIR_ENV)
        if data_dir:
            candidates.append(Path(data_dir) / source.local)
        else:
            tried.append(f"${DATA_DIR_ENV}/{source.local} (${DATA_DIR_ENV} is not set)")
    for path in candidates:
        if path.exists():
            return _read_local(path, source.column), str(path)
        tried.append(f"{path} (missing)")
    if source.hf is not None:
        return _read_hub(source, tried, label), f"hf:{source.hf.path}"
    raise UserError(f"{label}: haystack essays not found; tried {'; '.join(tried)}. Set {DATA_DIR_ENV} to a "
                    f"folder holding {source.local}, or use haystack: noise")


@lru_cache(maxsize=4)
def _read_local(path: Path, column: str) -> str:
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if not files:
            raise UserError(f"{path}: no .txt files for the haystack")
        return "".join(f.read_text(encoding="utf-8") for f in files)
    if path.suffix.lower() in {".txt", ".md"}:
        return path.read_text(encoding="utf-8")
    from evalharness.datasets import read_file

    return "\n\n".join(str(row.get(column, "")) for row in read_file(path))


def _read_hub(source: HaystackSource, tried: list[str], label: str) -> str:
    hub = source.hf
    try:
        import datasets  # heavy: only when the essays are not local

        rows: Any = datasets.load_dataset(hub.path, hub.name, split=hub.split)
        return "\n\n".join(str(text) for text in rows[source.column])
    except Exception as exc:  # the hub raises many types (connection, auth, missing column)
        reason = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        tried.append(f"Hugging Face hub {hub.path} split {hub.split} ({reason})")
        raise UserError(f"{label}: haystack essays not found; tried {'; '.join(tried)}. Set {DATA_DIR_ENV} "
                        f"to a folder holding {source.local}, or use haystack: noise") from None


class HaystackMixin:
    """For generators whose options name a `haystack` and its `source`: the text, loaded on first use."""

    @property
    def haystack(self) -> Haystack:
        if not hasattr(self, "_haystack"):
            o = self.options
            self._haystack = load_haystack(o.haystack, o.source, self.base_dir, self.source)
        return self._haystack

"""Multiple choice, generative: a suite's `choices:` block turns an item's answer options into the lettered
block a prompt shows, and its gold (a letter, a dataset label, an index, an option's text, or marks) into
the letter(s) shown. Chat endpoints have no log-probabilities, so the model writes its answer and the
`choice` grader reads the letter back (extract.py, strategy `choice_letter`).

Fields a presented item gets (templates use `{choices}`; graders and extraction read the rest):
- `choices`: the block, one option a line, e.g. `A. Paris` (style `A.`) or `(A) Paris` (style `(A)`);
- `choice_texts`, `choice_letters`: the options as shown and their letters (`A`, `B`, ...);
- `gold`: the letter of the right option as shown (a list of letters when several options are right,
  e.g. TruthfulQA's MC2 targets); `gold_index` (0-based position shown) and `gold_text` likewise;
  `gold_letter`: the first right letter (one letter always, for an exemplar's answer).
The option order is the dataset's, or one seeded shuffle per item (`shuffle: true`; GPQA and TruthfulQA
list the right answer first). A presentation `p > 0` (suite `shuffle_choices: N`) reorders the shown
options again: rotation by `p` for `p` below the option count (with N = the option count the right
answer sits once in every position), a seeded random order beyond. The seed mixes in the option texts,
so an item's order does not depend on its position in the file. Pure functions; no I/O.
"""

from __future__ import annotations

import random
import re
from typing import Any, Literal

import msgspec

from evalharness.errors import UserError
from evalharness.schema import Strict

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
STYLES = {"A.": "{letter}. {text}", "(A)": "({letter}) {text}", "A)": "{letter}) {text}", "A:": "{letter}: {text}"}
_LETTER_GOLD = re.compile(r"^\(?([A-Z])\)?[.:)]?$")


class ChoiceSpec(Strict, frozen=True):
    """The suite's `choices:` block (docs/suites.md): `field` names the item field holding the option
    list (gather options spread over columns with a field's `columns:`), or a mapping option text -> 1/0
    as TruthfulQA's targets. With `gold: marked` the right options are those marked 1: by that mapping's
    values, or by the list in the item field `marks` (aligned with the options)."""

    field: str
    marks: str | None = None
    labels: str | None = None        # item field with the dataset's own labels (ARC: "1".."4" or "A".."E")
    style: Literal["A.", "(A)", "A)", "A:"] = "A."
    letters: str = LETTERS
    gold: Literal["auto", "letter", "label", "index", "ordinal", "text", "marked"] = "auto"
    strip: bool = True               # strip whitespace around option texts (MMLU-Pro, PIQA carry some)
    drop: list[str] = msgspec.field(default_factory=list)   # option texts left out (MMLU-Pro's "N/A")
    shuffle: bool = False            # one seeded order per item instead of the dataset's
    seed: int = 1234
    separator: str = "\n"

    def __post_init__(self) -> None:
        if len(set(self.letters)) != len(self.letters) or not self.letters.isupper():
            raise ValueError(f"expected distinct capital letters, got {self.letters!r} (choices.letters)")

    def names(self) -> list[str]:
        """Item fields this block reads (checked against the suite's `fields` when it loads)."""
        return [self.field] + [name for name in (self.labels, self.marks) if name]


def present(fields: dict[str, Any], spec: ChoiceSpec, where: str = "item") -> dict[str, Any]:
    """The item's fields with its options formatted (see the module docstring); `where` names the item in
    errors. Raises UserError when the options or the gold cannot be read."""
    texts, marks = _options(fields, spec, where)
    labels = _labels(fields, spec, len(texts), where)
    right = marks if spec.gold == "marked" else {_gold_index(fields.get("gold"), spec, texts, labels, where)}
    order = [i for i, text in enumerate(texts) if text not in spec.drop]
    if not right & set(order):
        raise UserError(f"{where}: the right option was dropped by choices.drop")
    if len(order) > len(spec.letters):
        raise UserError(f"{where}: {len(order)} options but only {len(spec.letters)} letters (choices.letters)")
    if spec.shuffle:
        random.Random(_seed_text(spec.seed, 0, texts)).shuffle(order)
    return shown(fields, [texts[i] for i in order], sorted(order.index(i) for i in right & set(order)), spec)


def represent(fields: dict[str, Any], spec: ChoiceSpec, presentation: int) -> dict[str, Any]:
    """Presentation `presentation` of an already presented item (`shuffle_choices`): its shown options
    reordered, the gold letters following them."""
    texts = list(fields["choice_texts"])
    gold = fields["gold_index"]
    right = gold if isinstance(gold, list) else [gold]
    order = reorder(list(range(len(texts))), presentation, spec.seed, texts)
    return shown(fields, [texts[i] for i in order], sorted(order.index(i) for i in right), spec)


def reorder(order: list[int], presentation: int, seed: int, texts: list[str]) -> list[int]:
    """Presentation `p` of a shown order: itself for 0, rotated by p while p < len, else a seeded shuffle."""
    if presentation <= 0 or len(order) < 2:
        return list(order)
    if presentation < len(order):
        return order[presentation:] + order[:presentation]
    out = list(order)
    random.Random(_seed_text(seed, presentation, texts)).shuffle(out)
    return out


def shown(fields: dict[str, Any], texts: list[str], right: list[int], spec: ChoiceSpec) -> dict[str, Any]:
    letters = list(spec.letters[: len(texts)])
    line = STYLES[spec.style]
    block = spec.separator.join(line.format(letter=letter, text=text) for letter, text in zip(letters, texts))
    single = len(right) == 1
    return {**fields, "choices": block, "choice_texts": texts, "choice_letters": letters,
            "gold": letters[right[0]] if single else [letters[i] for i in right],
            "gold_letter": letters[right[0]],
            "gold_index": right[0] if single else right,
            "gold_text": texts[right[0]] if single else [texts[i] for i in right]}


def _seed_text(seed: int, presentation: int, texts: list[str]) -> str:
    return f"{seed}:{presentation}:" + "\x1f".join(texts)  # str seeds hash with SHA-512: stable everywhere


def _options(fields: dict[str, Any], spec: ChoiceSpec, where: str) -> tuple[list[str], set[int]]:
    """Option texts in dataset order, and which are marked right (for a mapping text -> 1/0)."""
    raw = fields.get(spec.field)
    flags: Any = raw.values() if isinstance(raw, dict) else []
    if isinstance(raw, dict):
        raw = list(raw.keys())
    if spec.marks:
        given = fields.get(spec.marks)
        flags = given.values() if isinstance(given, dict) else given if isinstance(given, (list, tuple)) else []
    marks = {i for i, value in enumerate(flags) if value and str(value).strip() not in ("0", "false", "False")}
    if spec.gold == "marked" and not marks:
        raise UserError(f"{where}: choices.gold is marked, but no option is marked 1 (by a mapping option text -> "
                        "1/0, or by the list in choices.marks)")
    if not isinstance(raw, (list, tuple)) or len(raw) < 2 or any(t is None for t in raw):
        raise UserError(f"{where}: choices: expected at least two options in {spec.field!r}, got {str(raw)[:80]!r}")
    texts = [str(t).strip() if spec.strip else str(t) for t in raw]
    return texts, marks


def _labels(fields: dict[str, Any], spec: ChoiceSpec, count: int, where: str) -> list[str]:
    if not spec.labels:
        return []
    labels = fields.get(spec.labels)
    if not isinstance(labels, (list, tuple)) or len(labels) != count:
        raise UserError(f"{where}: choices.labels: expected {count} labels in {spec.labels!r}, got {labels!r}")
    return [str(label).strip() for label in labels]


def _gold_index(gold: Any, spec: ChoiceSpec, texts: list[str], labels: list[str], where: str) -> int:
    """Position of the right option in dataset order, read as `choices.gold` says (auto: a dataset label,
    a letter, a 0-based index, then an option's text)."""
    count = len(texts)
    text = str(gold).strip() if gold is not None else ""
    found: int | None = None
    mode = spec.gold
    if gold is None or isinstance(gold, bool):
        found = None
    elif mode in ("auto", "label") and labels and text in labels:
        found = labels.index(text)
    elif mode in ("auto", "letter") and (m := _LETTER_GOLD.match(text)) and m.group(1) in spec.letters[:count]:
        found = spec.letters.index(m.group(1))
    elif mode in ("auto", "index", "ordinal") and re.fullmatch(r"-?\d+", text):
        found = int(text) - (1 if mode == "ordinal" else 0)
    elif mode in ("auto", "text") and text in texts:
        found = texts.index(text)
    if found is None or not 0 <= found < count:
        raise UserError(f"{where}: gold {gold!r} is not a {_mode_words(mode)} of its {count} options; "
                        "set choices.gold (letter, label, index, ordinal, text) to say how the gold is written")
    return found


def _mode_words(mode: str) -> str:
    return {"auto": "dataset label, letter, 0-based index or option text", "index": "0-based index",
            "ordinal": "1-based number"}.get(mode, mode)

r"""`exact_match`: the final answer, found by the run's extraction rules, compared with the gold.

Extraction (`extract.py`): the suite's `extract.patterns`, then by default `hash` (`#### 18`), `boxed`
(`\boxed{18}`), `answer_line` (the rest of the line after "final answer", "**Answer:**", "Answer:",
"answer is"), then `number` (the last number; `fallback: none` turns it off).

Comparison, when the gold is a number: both sides are read as exact decimals (`18`, `18.0`, `$18`, `1,800`,
`1{,}000`, a Unicode minus all work). Numbers written without a decimal point compare exactly: `1000001` is
not `1000000`. A tolerance exists only for a prediction that gives decimals, and it is tied to the digits
it gives: `3.14` matches a gold `3.14159` (the gold rounded to two places), `18.4` never matches `18`.
Otherwise the texts are compared after trimming, case-folding and dropping surrounding punctuation/markup.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from evalharness.extract import ExtractSpec, Extractor
from evalharness.graders.base import Exchange, Grade, Grader

NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
EXACT_STRATEGIES = ("hash", "boxed", "answer_line", "number")
MARKUP_RE = re.compile(r"\*\*|__|\$|\\[()\[\]]|\\text\{|\\mathrm\{|\\,|[{}]")


def extract_answer(response: str, patterns: list[str] | tuple[str, ...] = (), *, builtin: bool = True,
                   fallback: str = "last_number") -> str | None:
    """The final answer stated in `response` by exact_match's default rules, or None when nothing looks
    like one (the suite's `patterns` first; `builtin: false` keeps only them)."""
    spec = ExtractSpec(patterns=list(patterns), builtin=builtin, fallback=fallback)
    return Extractor(spec, EXACT_STRATEGIES, bare=False)(response).answer


def _number_text(text: str) -> str | None:
    match = NUMBER_RE.search(text.replace("\\!", "").replace("{,}", ",").replace("\u2212", "-"))
    return match.group(0).replace(",", "") if match else None


def numbers_equal(pred: str, gold: str) -> bool:
    """Exact decimal equality; a prediction with d decimals also matches the gold rounded to d places."""
    try:
        p, g = Decimal(pred), Decimal(gold)
    except InvalidOperation:
        return False
    if p == g:
        return True
    places = len(pred.split(".", 1)[1]) if "." in pred else 0
    gold_places = len(gold.split(".", 1)[1]) if "." in gold else 0
    if places == 0 or gold_places <= places:
        return False
    return g.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP) == p


def normalize_text(text: str) -> str:
    text = MARKUP_RE.sub("", text)
    return " ".join(text.split()).strip(" .,:;!?\"'`*").casefold()


def answers_match(extracted: str, gold: Any) -> bool:
    gold_text = str(gold).strip()
    if NUMBER_RE.fullmatch(gold_text.replace("$", "")):
        gold_number, pred_number = _number_text(gold_text), _number_text(extracted)
        return pred_number is not None and gold_number is not None and numbers_equal(pred_number, gold_number)
    return normalize_text(extracted) == normalize_text(gold_text)


class ExactMatch(Grader):
    name = "exact_match"
    default_strategies = EXACT_STRATEGIES
    bare_answers = False

    def grade(self, exchange: Exchange) -> Grade:
        if exchange.response is None or exchange.gold is None:
            return Grade(False, None)
        found = self.final_answer(exchange)
        if found.answer is None:
            return Grade(False, None, {"extraction": None})
        return Grade(answers_match(found.answer, exchange.gold), found.answer, {"extraction": found.how})

"""`math_equiv`: is the model's final answer mathematically the gold answer?

Pipeline per pair: find the final answer in the response, and in the gold when it is a worked solution
(answer.py: the run's extraction rules, widened to answers spread over several boxes or closing math
spans), normalise both strings (normalize.py), resolve labels (`AB = 4, CD = 5` against `4, 5`, labels.py),
then decide in-process when that is cheap and certain (equal strings, two plain numbers under the
rounding rule of rounding.py, two words, a choice letter, shapes that cannot match) and otherwise ask a
sympy worker process (pool.py -> compare.py) under a per-comparison timeout. The parent never imports
sympy, so a run whose answers are all plain numbers starts instantly. docs/math_equiv.md states every rule.

Options (`MathEquivOptions`, from the suite's `grader:` mapping; extraction follows the run's `extract:`
block, see extract.py, with `bare` answers always accepted):
- `extract`: `{strategies: [boxed, final_answer, answer_is, hash, last_math, last_number],
  patterns: [regex, ...], fallback: last_number | none}` for this grader only. `patterns` are tried first on
  the response (group 1, or the whole match, is the answer); `fallback: none` drops the last-number guess.
- `timeout_s` (default 1.5): wall-clock limit of one sympy comparison; a timeout counts as not equal. Power
  towers and the like are caught before evaluation, so only a starved worker ever gets near it.
- `workers` (default: CPU count, at most 4): sympy worker processes.
- `max_answer_chars` (default 400; MATH's longest gold is under 100): longer extracted answers, and answers
  nested deeper than 12 brackets, are only compared as exact strings.
- `list_order` (default `auto`): bare lists of values match in the gold's order or, when the prediction
  lists them sorted, in any order; `any`: any order; `written`: as written (lists of tuples too).
- `set_relation` (default true): a gold set (`x \\in [-2, 7]`) accepts a relation with that solution set
  (`-2 \\le x \\le 7`); false: only a set (a gold relation always accepts its solution set).
- `rounded_min_digits` (default 2): significant digits a decimal must state to equal an exact gold it
  rounds (`0.3333` = 1/3); null: decimals must be exact.

Hostile input (power towers, 10,000-character expressions, 200 KB of garbage) ends as "not equal" well
within 2 s: length caps apply before any regex work, power towers are caught before evaluation, and the
timeout kills whatever remains.
"""

from __future__ import annotations

import importlib.util
import os
import re
import threading
from typing import Annotated, Any, Literal

import msgspec

from evalharness.errors import UserError
from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions
from evalharness.graders.math import labels
from evalharness.graders.math.answer import final_answer
from evalharness.graders.math.normalize import key, normalize, plain_number, split_top_level
from evalharness.graders.math.rounding import DEFAULT_MIN_DIGITS, places_of, rounded_equal
_WORDS = re.compile(r"[A-Za-z][A-Za-z ]*")
_DECIMAL_COMMA = re.compile(r"-?\d+,\d+")
_EQUATION = re.compile(r"(?<![<>!\\])=")
_POOL_LOCK = threading.Lock()
_MAX_NESTING = 12  # brackets deeper than this are not an answer, and make the LaTeX parser slow
_COMPATIBLE = {frozenset(pair) for pair in [("matrix",), ("sequence",), ("relation",), ("expression",), ("base",),
                                            ("matrix", "sequence"), ("sequence", "relation")]}
_FUNCTIONS = re.compile(r"\\(?:sin|cos|tan|cot|sec|csc|log|ln|exp|lim|sum|int|prod|arc)|\b(?:sin|cos|tan|log|ln|exp)\b")


class MathEquivOptions(GraderOptions):
    timeout_s: Annotated[float, msgspec.Meta(gt=0)] = 1.5
    workers: Annotated[int, msgspec.Meta(ge=1)] | None = None
    max_answer_chars: Annotated[int, msgspec.Meta(ge=1)] = 400
    list_order: Literal["auto", "any", "written"] = "auto"  # bare lists of values (structures.py)
    set_relation: bool = True  # a set gold accepts a relation with that solution set
    # significant digits a predicted decimal must state to equal an exact gold it rounds; None: exact only
    rounded_min_digits: Annotated[int, msgspec.Meta(ge=1)] | None = DEFAULT_MIN_DIGITS


class MathEquiv(Grader):
    name = "math_equiv"
    Options = MathEquivOptions
    blocking = True
    max_workers = 8
    bare_answers = True

    def setup(self) -> None:
        if importlib.util.find_spec("latex2sympy2_extended") is None:
            raise UserError("math_equiv needs the LaTeX parser: pip install latex2sympy2_extended antlr4-python3-runtime==4.13.2")
        self.timeout_s = float(self.options.timeout_s)
        self.workers = int(self.options.workers or max(1, min(4, os.cpu_count() or 1)))
        self.max_answer_chars = int(self.options.max_answer_chars)
        self.rules = {"list_order": self.options.list_order, "set_relation": self.options.set_relation,
                      "min_digits": self.options.rounded_min_digits}
        self._pool = None

    def grade(self, exchange: Exchange) -> Grade:
        if exchange.response is None:
            return Grade(False, None)
        return self.grade_pair(exchange.text, exchange.gold)

    def grade_pair(self, response: str, gold: Any) -> Grade:
        try:
            pred, how = self.extract(response)
            gold_answer, _ = final_answer(str(gold if gold is not None else ""))
            correct, details = self.compare(gold_answer, pred)
        except Exception as err:  # garbage in, "not equal" out; never crash a run
            return Grade(False, None, {"error": f"{type(err).__name__}: {err}"[:300]})
        details.update(extraction=how, gold_extracted=gold_answer)
        return Grade(correct, pred, details)

    def extract(self, response: str) -> tuple[str, str]:
        """The final answer in a response (or the bare answer itself) and how it was found."""
        return final_answer(response or "", self.extractor)

    def compare(self, gold: str, pred: str) -> tuple[bool, dict[str, Any]]:
        """Equivalence of two extracted answers, with how it was decided."""
        if len(gold) > self.max_answer_chars or len(pred) > self.max_answer_chars:
            return gold.strip() == pred.strip(), {"method": "too_long"}
        whole_gold, whole_pred = normalize(gold, reduce_assignment=False), normalize(pred, reduce_assignment=False)
        resolved = labels.resolve(whole_gold, whole_pred)
        if resolved is None:
            return False, {"method": "fast"}  # x = 2 is not y = 2
        ngold, npred = resolved
        if _EQUATION.search(ngold) or _EQUATION.search(npred):
            ngold, npred = whole_gold, whole_pred  # an equation is compared whole, against the whole other side
        quick = _quick_verdict(ngold, npred, self.options.rounded_min_digits)
        if quick is not None:
            return quick, {"method": "fast"}
        if max(_nesting(ngold), _nesting(npred)) > _MAX_NESTING:
            return False, {"method": "too_long"}
        equal, error = self._get_pool().compare(ngold, npred, self.rules)
        details: dict[str, Any] = {"method": "sympy" if equal is not None else "timeout"}
        if error:
            details["error"] = error
        return bool(equal), details

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def describe(self) -> dict[str, Any]:
        timeouts = self._pool.timeouts if self._pool is not None else 0
        return {"grader": self.name, "timeout_s": self.timeout_s, "workers": self.workers, "timeouts": timeouts}

    def _get_pool(self):
        if self._pool is None:
            from evalharness.graders.math.pool import WorkerPool

            pool = WorkerPool(self.workers, self.timeout_s)
            with _POOL_LOCK:
                if self._pool is None:
                    self._pool = pool
        return self._pool


def _quick_verdict(gold: str, pred: str, min_digits: int | None = DEFAULT_MIN_DIGITS) -> bool | None:
    """True/False when strings or plain numbers settle it without sympy; None when sympy must decide."""
    kg, kp = key(gold), key(pred)
    if kg == kp:
        return True
    if not kp or not kg:
        return False
    g, p = plain_number(kg), plain_number(kp)
    if g is not None and p is None and _DECIMAL_COMMA.fullmatch(kp):
        p = plain_number(kp.replace(",", "."))  # "1,22" is 1.22 in much of the world
    if p is not None and g is None and _DECIMAL_COMMA.fullmatch(kg):
        g = plain_number(kg.replace(",", "."))
    if g is not None and p is not None:
        return g == p or rounded_equal(g, kg if places_of(kg) else None, p, kp if places_of(kp) else None, min_digits)
    gold_words, pred_words = _WORDS.fullmatch(gold), _WORDS.fullmatch(pred)
    if gold_words and pred_words and (len(kg) > 2 or len(kp) > 2):
        return kg.lower() == kp.lower()
    if (g is not None and pred_words and len(kp) > 2) or (p is not None and gold_words and len(kg) > 2):
        return False
    if (g is not None and _not_a_number(kp)) or (p is not None and _not_a_number(kg)):
        return False
    kinds = (_kind(gold), _kind(pred))
    if frozenset(kinds) not in _COMPATIBLE:
        return False
    if kinds == ("base", "base"):
        return False  # numerals in a base compare as written, and the strings differ
    if kinds == ("expression", "expression") and _clearly_different(kg, kp, min_digits):
        return False
    return None


def _clearly_different(gold: str, pred: str, min_digits: int | None) -> bool:
    """Both are closed-form constants whose float values differ (beyond what a rounded decimal allows)."""
    from evalharness.graders.math.numeric import approx_value

    g, p = approx_value(gold), approx_value(pred)
    if g is None or p is None:
        return False
    if abs(g - p) <= 1e-6 * max(abs(g), abs(p)) + 1e-9:
        return False
    if (places_of(gold) or places_of(pred)) and abs(g.imag) + abs(p.imag) == 0 and min_digits is not None:
        return abs(g - p) > 10 ** -min(places_of(gold) or 99, places_of(pred) or 99)  # a rounding: sympy decides
    return True


def _kind(answer: str) -> str:
    """The coarse shape of an answer; sympy is only asked about pairs whose shapes can be equal."""
    if "\\begin{pmatrix}" in answer:
        return "matrix"
    if re.fullmatch(r"\d+_\{?\d+\}?", answer):
        return "base"
    if (len(split_top_level(answer)) > 1 or re.search(r"\\(?:cup|cap|setminus|mathbb|pm|mp)(?![a-zA-Z])|±", answer)
            or (answer[:1] in "([" or answer.startswith("\\{")) and "," in answer):
        return "sequence"
    if re.search(r"(?<![\\])[=<>]|\\(?:leq|geq|neq)(?![a-zA-Z])", answer):
        return "relation"
    return "expression"


def _not_a_number(k: str) -> bool:
    """Certainly not a single number: has a variable letter, or is a tuple/interval/set/matrix/list."""
    if _FUNCTIONS.search(k):
        return False  # identities like \sin^2 x + \cos^2 x = 1: let sympy decide
    bare = re.sub(r"\\[a-zA-Z]+", "", k)
    if re.search(r"[a-df-hj-zA-Z]", bare):
        return True
    return bool(re.match(r"\\begin|\\\{|[(\[]", k) and "," in k) or k.startswith("\\begin")


def _nesting(s: str) -> int:
    depth = deepest = 0
    for ch in s:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


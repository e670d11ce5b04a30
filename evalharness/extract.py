"""Final-answer extraction: the one vocabulary every grader and field op uses to find the answer a response
commits to.

A suite's `extract:` block is an `ExtractSpec`; `Extractor(spec, default, bare)` compiles it, with the
primary grader's default strategy list when the suite names none, and the runner gives the same extractor
to every grader of a run, so two graders never read two different answers out of one response. Order:
the suite's `patterns` (regexes), then the strategies in the order given:

- `bare`: the whole text is an answer (`\\frac{1}{2}`, `x = 5`, `28 percent`), checked before the others:
  taking its "last number" would turn `x^2+3` into `3`.
- `boxed`: the last `\\boxed{...}` / `\\fbox{...}` (nested braces; also `\\boxed 5`). Several boxes written
  together at the end ("`\\boxed{-2}` and `\\boxed{1}`") are joined with commas: that is one answer.
- `final_answer`: "final answer is ..." / "Final Answer: ...". When such a phrase comes *after* the last box
  it wins over the box, because models restate and correct themselves.
- `answer_is`: the weaker "the answer is ..." / "Answer: ...", the answer picked out of the sentence.
- `answer_line`: the rest of the line after "final answer", "**Answer:**", "Answer:" or "answer is".
- `hash`: GSM8K's `#### 42`.
- `last_math`: the last `$...$`, `$$...$$`, `\\(...\\)` or `\\[...\\]` span.
- `last_number`: the last number outside math spans (thousands separators, decimals, a/b fractions, %).
- `number`: the last run of digits anywhere (what exact_match has always used).
- `final_statement`, `last_line`, `final_number`, `last_numeral`: the last answer statement in any of 11
  languages, the last line, the statement's number and the last number in any script (`statements.py`).
- strategies in `CONTEXT_STRATEGIES` also read the item: `choice_letter`, the letter of the option a
  multiple-choice response chose (its final answer statement, else its closing line; choice_letter.py).

`extract_answer(text, strategies)` is the math flavour (bare first, the whole text when nothing applies).
Pure functions, no sympy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import msgspec

from evalharness.schema import Strict

DEFAULT_STRATEGIES = ("boxed", "final_answer", "answer_is", "hash", "last_math", "last_number")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\b")
_FINAL_RE = re.compile(r"final\s+answer\s*(?:is|:)?\s*:?", re.IGNORECASE)
_ANSWER_IS_RE = re.compile(r"(?:the\s+answer\s+is|answer\s*:)\s*:?", re.IGNORECASE)
_HASH_RE = re.compile(r"####\s*([^\n]+)")
_MATH_SPAN_RE = re.compile(
    r"(?<!\\)\$\$(.{1,2000}?)(?<!\\)\$\$|\\\[(.{1,2000}?)\\\]|\\\((.{1,2000}?)\\\)"
    r"|(?<!\\)\$((?:[^$\n]|\\\$){1,2000}?)(?<!\\)\$", re.DOTALL  # bounded: no quadratic scans
)
_NUMBER_RE = re.compile(
    r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+,\d+|\d+)(?:\.\d+)?(?:\s*/\s*\d+)?(?:\s*\\?%)?|(?<![\w.])-?\.\d+"
)
_WORD_RE = re.compile(r"(?<![\\a-zA-Z])[a-zA-Z]{3,}")
_TEXT_CMD_RE = re.compile(r"\\(?:text|textbf|mathrm|mbox|textnormal|operatorname)\s*\{[^{}]*\}")
# Words that may sit inside a bare answer without making it a sentence (units, connectives, functions).
_BARE_WORDS = frozenset(
    """and or percent pct percentage degree degrees dollar dollars cent cents unit units square cubic
    sqrt sin cos tan cot sec csc log ln exp arcsin arccos arctan pi infty inf frac dfrac tfrac cdot times
    cm mm km inch inches feet foot ft yd yard yards mile miles meter meters metre metres mph sq hours hour
    minutes minute seconds second days day weeks years cups gallons pounds ounces grams kg none
    even odd true false yes begin end pmatrix bmatrix matrix array vmatrix cases""".split()
)
_MAX_BOXES = 30  # only the last boxes matter; each unclosed one costs a scan to the end
_CLUSTER_GAP = re.compile(r"(?:[\s$,;.]|and|\\q?quad|\\text\{\s*and\s*\}|\\[\[\]()])*")
_TAIL_RE = re.compile(r"\s*(?:I hope it is correct|I hope this is correct).*$", re.IGNORECASE | re.DOTALL)


def find_boxed(text: str) -> list[tuple[int, int, str]]:
    """Every `\\boxed`/`\\fbox` in `text` as (start, end, content); unbalanced braces end at the text's end."""
    found = []
    for match in list(_BOX_RE.finditer(text))[-_MAX_BOXES:]:
        i = match.end()
        while i < len(text) and text[i] == " ":
            i += 1
        if i < len(text) and text[i] == "{":
            content, end = _balanced(text, i)
        else:
            token = re.match(r"[^\s$]+", text[i:])
            if token is None:
                continue
            content, end = token.group(0).rstrip(".,;"), i + token.end()
        found.append((match.start(), end, content))
    return found


def _balanced(text: str, open_at: int) -> tuple[str, int]:
    """Content of the brace group opening at `open_at`, and the index after its closing brace."""
    depth = 0
    for i in range(open_at, len(text)):
        ch = text[i]
        if ch == "\\":
            continue
        if ch == "{" and (i == 0 or text[i - 1] != "\\"):
            depth += 1
        elif ch == "}" and text[i - 1] != "\\":
            depth -= 1
            if depth == 0:
                return text[open_at + 1 : i], i + 1
    return text[open_at + 1 :], len(text)


def last_boxed(text: str) -> str | None:
    """Content of the last box, joining a final cluster of boxes ("\\boxed{1} and \\boxed{2}" -> "1, 2")."""
    cluster = last_box_cluster(text, lambda gap: len(gap) <= 60 and bool(_CLUSTER_GAP.fullmatch(gap)))
    return ", ".join(content.strip() for _, _, content in cluster) if cluster else None


def last_box_cluster(text: str, joins: Callable[[str], bool]) -> list[tuple[int, int, str]]:
    """The last box and the boxes before it that join it: going back, a box joins while `joins(gap)` holds
    for the text between it and the cluster. Empty when `text` has no box."""
    boxes = find_boxed(text)
    if not boxes:
        return []
    cluster = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        if not joins(text[box[1] : cluster[0][0]]):
            break
        cluster.insert(0, box)
    return cluster


def _last_phrase(regex: re.Pattern, text: str) -> tuple[int, str] | None:
    """The position and the answer text that follows the last match of `regex`."""
    matches = list(regex.finditer(text))
    if not matches:
        return None
    start = matches[-1].end()
    segment = _TAIL_RE.sub("", text[start : start + 400])
    segment = re.split(r"\n\s*\n|<\|", segment)[0].strip()
    answer = _answer_in_segment(segment)
    return (matches[-1].start(), answer) if answer else None


def _answer_in_segment(segment: str) -> str | None:
    """Pick the answer out of the sentence after "final answer is": all math, or its last math/number."""
    segment = re.sub(r'^(?:\\?["“”])+|(?:\\?["“”])+(?=[.\s]*$)', "", segment.strip()).strip()
    boxed = last_boxed(segment)
    if boxed is not None:
        return boxed
    stripped = re.sub(r"[.\s]+$", "", segment)
    if re.fullmatch(r"(\$[^$]*\$|\\\(.*?\\\)|\\\[.*?\\\]|\s|and|or|,)+", stripped, re.DOTALL):
        return re.sub(r"\$|\\\(|\\\)|\\\[|\\\]", " ", stripped).strip()
    if looks_bare(stripped) and len(stripped.split()) <= 6:
        return stripped
    candidates = [(m.start(), _span_text(m)) for m in _MATH_SPAN_RE.finditer(segment)]
    masked = _MATH_SPAN_RE.sub(lambda m: " " * len(m.group(0)), segment)
    candidates += [(m.start(), m.group(0)) for m in _NUMBER_RE.finditer(masked)]
    return max(candidates)[1] if candidates else None  # prose ("positive, because ...") is no answer


def _span_text(match: re.Match) -> str:
    return next(group for group in match.groups() if group is not None).strip()


def math_spans(text: str) -> list[tuple[int, int, str]]:
    """Every `$...$`, `$$...$$`, `\\(...\\)`, `\\[...\\]` span in `text` as (start, end, content)."""
    return [(m.start(), m.end(), _span_text(m)) for m in _MATH_SPAN_RE.finditer(text)]


def looks_bare(text: str) -> bool:
    """True for a bare answer (math with at most unit words), False for prose that needs extraction."""
    text = text.strip()
    if not text or len(text) > 300 or "\n\n" in text:
        return False
    if re.search(r"(?<!\\)\$", text) or "\\[" in text or "\\(" in text or _BOX_RE.search(text):
        return False
    unglued = re.sub(r"(?<=[\d)\]}])(or|and)(?=[A-Z(\[\\\d-])", r" \1 ", text)  # `(11,7)or(7,11)`
    words = [w.lower() for w in _WORD_RE.findall(_TEXT_CMD_RE.sub(" ", unglued))]
    prose = [w for w in words if w not in _BARE_WORDS]
    return not prose or not re.search(r"\d", text)


def extract_answer(text: str, strategies: tuple[str, ...] | list[str] = DEFAULT_STRATEGIES) -> tuple[str, str]:
    """The final answer in `text` and the strategy that found it ("bare" or "whole" when none applied).

    A bare answer is taken whole first; then strategies are tried as `run_strategies` does."""
    text = text or ""
    found = run_strategies(text, ("bare", *strategies))
    return found if found is not None else (text.strip(), "whole")


def run_strategies(text: str, strategies: tuple[str, ...] | list[str],
                   context: Context | None = None) -> tuple[str, str] | None:
    """(answer, strategy) for the first strategy, in the given order, that finds an answer; else None.

    `bare` (the whole text is an answer) is checked before the others. The pairs boxed/final_answer and
    last_math/last_number compete by position: whichever the response wrote last wins."""
    if "bare" in strategies and looks_bare(text):
        return text.strip(), "bare"
    hits: dict[str, tuple[int, str]] = {}
    for name in strategies:
        if name in _STRATEGIES:
            hit = _STRATEGIES[name](text)
        elif name in CONTEXT_STRATEGIES:
            hit = CONTEXT_STRATEGIES[name](text, context or Context())
        else:
            hit = None
        if hit is not None:
            hits[name] = hit
    for name in strategies:
        if name not in hits:
            continue
        rival = _RIVALS.get(name)
        if rival in hits and hits[rival][0] > hits[name][0]:
            name = rival
        return hits[name][1], name
    return None


_RIVALS = {"boxed": "final_answer", "final_answer": "boxed", "last_math": "last_number", "last_number": "last_math"}


def _boxed_strategy(text: str) -> tuple[int, str] | None:
    boxes = find_boxed(text)
    answer = last_boxed(text)
    return (boxes[-1][0], answer) if answer is not None else None


def _hash_strategy(text: str) -> tuple[int, str] | None:
    matches = list(_HASH_RE.finditer(text))
    return (matches[-1].start(), matches[-1].group(1).strip()) if matches else None


def _last_math_strategy(text: str) -> tuple[int, str] | None:
    spans = [m for m in _MATH_SPAN_RE.finditer(text) if _span_text(m)]
    return (spans[-1].start(), _span_text(spans[-1])) if spans else None


def _last_number_strategy(text: str) -> tuple[int, str] | None:
    masked = _MATH_SPAN_RE.sub(lambda m: " " * len(m.group(0)), text)
    numbers = list(_NUMBER_RE.finditer(masked))
    return (numbers[-1].start(), numbers[-1].group(0)) if numbers else None


_STRATEGIES = {
    "boxed": _boxed_strategy,
    "final_answer": lambda text: _last_phrase(_FINAL_RE, text),
    "answer_is": lambda text: _last_phrase(_ANSWER_IS_RE, text),
    "hash": _hash_strategy,
    "last_math": _last_math_strategy,
    "last_number": _last_number_strategy,
}


# ---- line-based strategies (exact_match's defaults) --------------------------------------------------------

_ANSWER_LINE_RES = (  # tried in this order; the rest of the line after the last match is the answer
    re.compile(r"(?i)final answer\s*(?:is|:)?\s*:?\s*([^\n]+)"),
    re.compile(r"(?i)\*\*\s*answer\s*:?\s*\*\*\s*:?\s*([^\n]+)"),
    re.compile(r"(?i)\banswer\s*:\s*([^\n]+)"),
    re.compile(r"(?i)\banswer is\s*:?\s*([^\n]+)"),
)
_PLAIN_NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")


def _last_match(regex: re.Pattern, text: str) -> tuple[int, str] | None:
    last = None
    for last in regex.finditer(text):
        pass
    if last is None:
        return None
    return last.start(), (last.group(1) if last.groups() else last.group(0)).strip()


def _answer_line_strategy(text: str) -> tuple[int, str] | None:
    """The rest of the line after "final answer", "**Answer:**", "Answer:" or "answer is" (first that occurs)."""
    for regex in _ANSWER_LINE_RES:
        found = _last_match(regex, text)
        if found is not None:
            return found
    return None


def _number_strategy(text: str) -> tuple[int, str] | None:
    """The last run of digits (with `,` and a decimal part) anywhere, math spans included."""
    numbers = list(_PLAIN_NUMBER_RE.finditer(text))
    return (numbers[-1].start(), numbers[-1].group(0)) if numbers else None


_STRATEGIES.update({"answer_line": _answer_line_strategy, "number": _number_strategy})

# answer statements in 11 languages and numerals of any script (statements.py, imported on first use: its
# regexes cost ~3 ms to compile, which a run of another suite should not pay)
def _statement_strategy(name: str):
    def strategy(text: str) -> tuple[int, str] | None:
        from evalharness.statements import STRATEGIES

        return STRATEGIES[name](text)
    return strategy


_STRATEGIES.update({name: _statement_strategy(name)
                    for name in ("final_statement", "last_line", "final_number", "last_numeral")})


# ---- the extraction vocabulary every grader speaks ---------------------------------------------------------

@dataclass(frozen=True)
class Context:
    """What a strategy may know besides the text: the item's answer options as shown (for multiple
    choice), their letters, and whether an option's text may stand for its letter."""

    choices: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    text_answers: bool = True


def _choice_letter_strategy(text: str, context: Context) -> tuple[int, str] | None:
    """The option a multiple-choice response chose, as its letter (choice_letter.py, imported on first use)."""
    from evalharness.choice_letter import choice_letter

    return choice_letter(text, context.choices, context.labels, context.text_answers)


# Strategies that need the item (multiple choice reads the options): name -> fn(text, context).
CONTEXT_STRATEGIES: dict = {"choice_letter": _choice_letter_strategy}


def strategy_names() -> list[str]:
    return sorted({"bare", *_STRATEGIES, *CONTEXT_STRATEGIES})


class ExtractSpec(Strict):
    """How to find the final answer in a response: the suite's `extract:` block (docs/suites.md).

    `patterns` (regexes; group 1, else the whole match, of the last match of the first pattern that
    matches) are tried first, then `strategies` in order (a grader's own default list when omitted).
    `fallback: none` removes the last-number guesses; `bare` says whether a response that is nothing but
    an answer (`\\frac{1}{2}`, `Paris`) is taken whole (grader default when omitted)."""

    strategies: list[str] | None = None
    patterns: list[str] = msgspec.field(default_factory=list)
    fallback: str = "last_number"
    bare: bool | None = None
    builtin: bool = True  # false: no strategies at all, only `patterns` (older spelling of `strategies: []`)

    def __post_init__(self) -> None:
        if self.fallback not in ("last_number", "none"):
            raise ValueError(f"expected last_number or none, got {self.fallback!r} (extract.fallback)")
        unknown = [s for s in self.strategies or [] if s not in strategy_names()]
        if unknown:
            raise ValueError(f"expected strategies among {', '.join(strategy_names())}, got {unknown[0]!r}")
        for pattern in self.patterns:
            try:
                re.compile(pattern)
            except re.error as err:
                raise ValueError(f"expected valid regular expressions, got {pattern!r} ({err})") from None

    def resolved(self, default: tuple[str, ...], bare: bool) -> tuple[str, ...]:
        """The strategy list to run: ours or the grader's default, with `bare` and `fallback` applied."""
        strategies = tuple(self.strategies if self.strategies is not None else default)
        if not self.builtin:
            strategies = ()
        if self.fallback == "none":
            strategies = tuple(s for s in strategies if s not in ("last_number", "number", "last_numeral"))
        use_bare = self.bare if self.bare is not None else bare
        if use_bare and strategies and "bare" not in strategies:
            strategies = ("bare", *strategies)
        return strategies


@dataclass(frozen=True)
class Extraction:
    """What was extracted and by which rule (`pattern`, a strategy name, or None when nothing was found)."""

    answer: str | None
    how: str | None


class Extractor:
    """A compiled `ExtractSpec`: `extractor(text, context) -> Extraction`. Cheap, thread-safe, picklable."""

    def __init__(self, spec: ExtractSpec | None, default: tuple[str, ...], bare: bool = False):
        self.spec = spec or ExtractSpec()
        self._default, self._bare = tuple(default), bare
        self.strategies = self.spec.resolved(self._default, bare)
        self.patterns = [re.compile(p) for p in self.spec.patterns]

    def __call__(self, text: str | None, context: Context | None = None) -> Extraction:
        text = text or ""
        for pattern in self.patterns:
            found = _last_match(pattern, text)
            if found is not None:
                return Extraction(found[1], "pattern")
        found = run_strategies(text, self.strategies, context)
        return Extraction(found[0], found[1]) if found else Extraction(None, None)

    def __reduce__(self):
        return (Extractor, (self.spec, self._default, self._bare))

"""Final-answer extraction: find the answer a whole model response commits to.

`extract_answer(text, strategies)` tries strategies in the order given (the suite's `extract.strategies`)
and returns `(answer, how)`. Strategies:

- `boxed`: the last `\\boxed{...}` / `\\fbox{...}` (nested braces; also `\\boxed 5`). Several boxes written
  together at the end ("`\\boxed{-2}` and `\\boxed{1}`") are joined with commas: that is one answer.
- `final_answer`: "final answer is ..." / "Final Answer: ...". When such a phrase comes *after* the last box
  it wins over the box, because models restate and correct themselves.
- `answer_is`: the weaker "the answer is ..." / "Answer: ...".
- `hash`: GSM8K's `#### 42`.
- `last_math`: the last `$...$`, `$$...$$`, `\\(...\\)` or `\\[...\\]` span.
- `last_number`: the last number (with thousands separators, decimals, a/b fractions, %).

A text that reads like a bare answer (`\\frac{1}{2}`, `x = 5`, `28 percent`) is returned whole, before any
strategy runs: taking its "last number" would turn `x^2+3` into `3`. Pure functions, no sympy.
"""

from __future__ import annotations

import re

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
    boxes = find_boxed(text)
    if not boxes:
        return None
    cluster = [boxes[-1]]
    for box in reversed(boxes[:-1]):
        gap = text[box[1] : cluster[0][0]]
        if len(gap) > 60 or not _CLUSTER_GAP.fullmatch(gap):
            break
        cluster.insert(0, box)
    return ", ".join(content.strip() for _, _, content in cluster)


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
    segment = segment.strip().strip('"“”').strip()
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


def looks_bare(text: str) -> bool:
    """True for a bare answer (math with at most unit words), False for prose that needs extraction."""
    text = text.strip()
    if not text or len(text) > 300 or "\n\n" in text:
        return False
    if re.search(r"(?<!\\)\$", text) or "\\[" in text or "\\(" in text or _BOX_RE.search(text):
        return False
    words = [w.lower() for w in _WORD_RE.findall(_TEXT_CMD_RE.sub(" ", text))]
    prose = [w for w in words if w not in _BARE_WORDS]
    return not prose or not re.search(r"\d", text)


def extract_answer(text: str, strategies: tuple[str, ...] | list[str] = DEFAULT_STRATEGIES) -> tuple[str, str]:
    """The final answer in `text` and the strategy that found it ("bare" or "whole" when none applied).

    Strategies are tried in the given order, except that the pairs boxed/final_answer and
    last_math/last_number compete by position: whichever the response wrote last wins.
    """
    text = text or ""
    if looks_bare(text):
        return text.strip(), "bare"
    hits: dict[str, tuple[int, str]] = {}
    for name in strategies:
        hit = _STRATEGIES[name](text) if name in _STRATEGIES else None
        if hit is not None:
            hits[name] = hit
    for name in strategies:
        if name not in hits:
            continue
        rival = _RIVALS.get(name)
        if rival in hits and hits[rival][0] > hits[name][0]:
            name = rival
        answer = hits[name][1]
        return answer, name
    return text.strip(), "whole"


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

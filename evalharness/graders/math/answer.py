"""The final answer of a math response, or of a gold that is a worked solution.

On top of the run's extraction rules (extract.py), which find one answer, math answers may be spread:
- several boxes for one question: "`\\boxed{(3,3)}` for part (a) and `\\boxed{(1,1)}`", "$\\boxed{1}$ red and
  $\\boxed{2}$ blue", "`\\boxed{4} \\quad \\text{and} \\quad \\boxed{9}`". Going back from the box the rules
  chose, an earlier box joins the answer when the text between them is short (at most 70 characters once
  math delimiters, `\\quad` and `\\text{}` are dropped), has no word of correction or derivation ("wrong",
  "but", "then", "so", ...), and is either only punctuation or holds a separator (and, or, a comma, a
  semicolon). Repeated boxes, and boxes of the same number written two ways, count once.
  So "I got $\\boxed{10}$, but that is wrong ... $\\boxed{12}$" is 12, and "\\boxed{1} no no no \\boxed{2}" is 2.
- one box per labelled part: "**Part (a):** ... $\\boxed{8}$ ... **Part (b):** ... $\\boxed{12}$" is `8, 12`.
  Parts are lines that start with `Part (a)`, `(a)` or `a)` (markdown emphasis or a heading allowed), in
  order from (a); the answer is the last box of each part, and only when every part has one.
- several math spans ending the text, joined by separators: "The solutions are $x = 2$ and $x = -5$.",
  a gold written "$21, 16$ or $11$" (when the rules fell back to the last math span).
- but not a value inside inline math broken over lines at the very end (`Answer $ \\n 9 \\n $`): inline
  math cannot span lines, so that is no answer (display math `$$`/`\\[` may).
Only the last 20,000 characters are searched (the answer lives at the end).
"""

from __future__ import annotations

import re

from evalharness.extract import DEFAULT_STRATEGIES, Extractor, find_boxed, last_box_cluster, math_spans
from evalharness.graders.math.normalize import key, normalize, plain_number, restore_escapes

MAX_TEXT_CHARS = 20_000
_GOLD_EXTRACTOR = Extractor(None, DEFAULT_STRATEGIES, bare=True)
_STOP_WORDS = frozenset("""not no wrong incorrect instead but however actually wait rather mistake mistaken
    correction correct then so thus therefore hence next finally gives giving get gets got becomes equals
    check recheck rechecking earlier previous previously""".split())
_SEPARATOR = re.compile(r"\b(?:and|or)\b|[,;]")
_GAP_NOISE = re.compile(r"\\(?:text|textbf|mathrm|mbox)\s*\{([^{}]*)\}|\\q?quad|\\[,;:! ]|\\[()\[\]]|\$")
_SPAN_GAP = re.compile(r"\s*(?:,|;)?\s*(?:(?:and|or)\s+)?")
# Inline math cannot span lines: `$ \n 9 \n $` or `\( \n 9 \n \)` at the end is malformed, not an answer.
_BROKEN_INLINE = re.compile(r"(?<![\\$])\$(?!\$)[^$]*\n[^$]*(?<![\\$])\$(?!\$)|\\\([^\n]*\n.*?\\\)", re.DOTALL)


def final_answer(text: str, extractor: Extractor | None = None) -> tuple[str, str]:
    """(answer, how): the extractor's answer, widened to spread boxes or a closing run of math spans."""
    text = restore_escapes(tail(text or ""))
    found = (extractor or _GOLD_EXTRACTOR)(text)
    if found.answer is None:
        return text.strip(), "whole"
    if found.how == "boxed":
        return part_boxes(text) or spread_boxes(text) or found.answer, found.how
    if found.how in ("last_math", "last_number"):
        if _in_broken_inline(text, found.answer):
            return text.strip(), "whole"
        joined = closing_spans(text)
        if joined is not None:
            return joined, "last_math"
    return found.answer, found.how


def spread_boxes(text: str) -> str | None:
    """The last box's content joined with the earlier boxes that belong to the same answer (see above)."""
    chosen = last_box_cluster(text, _joins)
    if not chosen:
        return None
    contents, seen = [], []
    for _, _, content in chosen:
        content = content.strip()
        value = _plain_value(content)
        if content in contents or (value is not None and value in seen):
            continue  # the same answer twice ("$\\boxed{15\\frac{39}{40}}$, or $\\boxed{\\frac{639}{40}}$")
        contents.append(content)
        seen.append(value)
    return ", ".join(contents)


# `Part (a)`, `(a)`, `a)` or `Part A` opening a line; a bare `(A)` is a multiple-choice option, not a part
_PART_MARK = re.compile(r"^[ \t>#*_]*(?:(?i:part)\s*\(?([a-hA-H])\)|\(?([a-h])\)|(?i:part)\s+([a-hA-H])\b)(?=[\s:.*_]|$)",
                        re.MULTILINE)


def part_boxes(text: str) -> str | None:
    """The last box of each labelled part (a), (b), ... joined, when there are two or more parts and each has one."""
    starts = []
    for mark in _PART_MARK.finditer(text):
        letter = next(group for group in mark.groups() if group).lower()
        if letter == "a":
            starts = [mark.start()]  # a new (a) starts the sequence again (a restated problem)
        elif starts and ord(letter) - ord("a") == len(starts):
            starts.append(mark.start())
    if len(starts) < 2:
        return None
    boxes = find_boxed(text)
    answers = []
    for begin, end in zip(starts, starts[1:] + [len(text)]):
        inside = [content.strip() for start, _, content in boxes if begin <= start < end]
        if not inside:
            return None
        answers.append(inside[-1])
    return ", ".join(answers)


def _plain_value(content: str):
    return plain_number(key(normalize(content))) if len(content) < 60 else None


def _joins(gap: str) -> bool:
    if len(gap) > 140:
        return False
    clean = _GAP_NOISE.sub(lambda m: f" {m.group(1)} " if m.group(1) else " ", gap).strip()
    if len(clean) > 70 or any(word in _STOP_WORDS for word in re.findall(r"[a-z]+", clean.lower())):
        return False
    if not re.search(r"[A-Za-z0-9]", clean) and len(clean) <= 10:
        return True  # `\\boxed{1}\\boxed{2}`, `\\boxed{1}, \\boxed{2}`
    return bool(_SEPARATOR.search(clean))


def closing_spans(text: str) -> str | None:
    """Two or more math spans that end the text, separated only by commas, "and", "or": joined by commas."""
    spans = math_spans(text)
    if len(spans) < 2 or re.search(r"[A-Za-z0-9]", text[spans[-1][1] :]):
        return None
    chosen = [spans[-1]]
    for span in reversed(spans[:-1]):
        if not _SPAN_GAP.fullmatch(text[span[1] : chosen[0][0]]):
            break
        chosen.insert(0, span)
    if len(chosen) < 2 or any(not content for _, _, content in chosen):
        return None
    return ", ".join(content for _, _, content in chosen)


def _in_broken_inline(text: str, answer: str) -> bool:
    """The fallback answer sits in a malformed inline span (one that spans lines) that ends the text."""
    end = text[-400:]
    last = None
    for last in _BROKEN_INLINE.finditer(end):
        pass
    return last is not None and not end[last.end() :].strip() and answer in last.group(0)


def tail(text: str) -> str:
    return text[-MAX_TEXT_CHARS:] if len(text) > MAX_TEXT_CHARS else text

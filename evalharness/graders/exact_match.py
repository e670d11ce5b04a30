r"""Exact-match grading: find the final answer in a response, normalise it, compare it with the gold.

Extraction tries the suite's `extract.patterns` in order (the last match of the first pattern that matches
wins; group 1 if the pattern has one), then, by default, the built-in patterns for the usual ways a chat
model states a result (`#### 18`, `\boxed{18}`, `The answer is 18.`, `**Answer:** 18`), then the last
number in the response (`fallback: last_number`; `none` turns that off). When the gold is a number the
extracted text is compared as a number (`18`, `18.0`, `$18`, `1,800` vs `1800` all fine); otherwise the
texts are compared after trimming, case-folding and dropping surrounding punctuation and markup.
"""

from __future__ import annotations

import re
from typing import Any

from evalharness.extract import last_boxed
from evalharness.graders.base import Grade, Grader

NUMBER_RE = re.compile(r"-?\d[\d,]*(?:\.\d+)?|-?\.\d+")
HASHES_PATTERN = r"####\s*([^\n]+)"
PHRASE_PATTERNS = (
    r"(?i)final answer\s*(?:is|:)?\s*:?\s*([^\n]+)",
    r"(?i)\*\*\s*answer\s*:?\s*\*\*\s*:?\s*([^\n]+)",
    r"(?i)\banswer\s*:\s*([^\n]+)",
    r"(?i)\banswer is\s*:?\s*([^\n]+)",
)
MARKUP_RE = re.compile(r"\*\*|__|\$|\\[()\[\]]|\\text\{|\\mathrm\{|\\,|[{}]")


def extract_answer(response: str, patterns: list[str] | tuple[str, ...] = (), *, builtin: bool = True,
                   fallback: str = "last_number") -> str | None:
    """The final answer stated in `response`, or None when nothing looks like one.

    Order: the suite's patterns; then `#### X`; the last `\\boxed{X}`; "final answer is X", "**Answer:** X",
    "Answer: X", "the answer is X"; then the last number (unless `fallback` is `none`)."""
    for pattern in patterns:
        found = _last_match(pattern, response)
        if found is not None:
            return found
    if builtin:
        found = _last_match(HASHES_PATTERN, response)
        if found is None:
            boxed = last_boxed(response)
            found = boxed.strip() if boxed is not None else None
        for pattern in PHRASE_PATTERNS:
            if found is not None:
                return found
            found = _last_match(pattern, response)
        if found is not None:
            return found
    if fallback == "last_number":
        numbers = NUMBER_RE.findall(response)
        if numbers:
            return numbers[-1]
    return None


def _last_match(pattern: str, text: str) -> str | None:
    last = None
    for last in re.finditer(pattern, text):
        pass
    if last is None:
        return None
    return (last.group(1) if last.groups() else last.group(0)).strip()


def parse_number(text: str) -> float | None:
    """The first number in `text` (thousands separators and currency ignored), or None."""
    match = NUMBER_RE.search(text.replace("\\!", "").replace("{,}", ",").replace("\u2212", "-"))
    if not match:
        return None
    try:
        return float(match.group(0).replace(",", ""))
    except ValueError:
        return None


def normalize_text(text: str) -> str:
    text = MARKUP_RE.sub("", text)
    return " ".join(text.split()).strip(" .,:;!?\"'`*").casefold()


def answers_match(extracted: str, gold: Any) -> bool:
    gold_text = str(gold).strip()
    gold_number = parse_number(gold_text) if NUMBER_RE.fullmatch(gold_text.replace("$", "")) else None
    if gold_number is not None:
        value = parse_number(extracted)
        return value is not None and abs(value - gold_number) <= 1e-6 * max(1.0, abs(gold_number))
    return normalize_text(extracted) == normalize_text(gold_text)


class ExactMatch(Grader):
    name = "exact_match"

    def __init__(self, extract: dict[str, Any] | None = None):
        extract = extract or {}
        self.patterns = tuple(extract.get("patterns") or ())
        self.builtin = extract.get("builtin", True)
        self.fallback = extract.get("fallback", "last_number")

    def grade(self, response: str, gold: Any, item: dict[str, Any]) -> Grade:
        if response is None or gold is None:
            return Grade(False, None)
        extracted = extract_answer(str(response), self.patterns, builtin=self.builtin, fallback=self.fallback)
        if extracted is None:
            return Grade(False, None)
        return Grade(answers_match(extracted, gold), extracted)

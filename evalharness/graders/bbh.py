"""`bbh_match`: BIG-Bench Hard answers, read by answer type and compared with the official normalisation.

The answer is read from the response's final statement (`statements.py`: the last "So the answer is ...",
"**Answer:** ...", `\\boxed{}`, or a last line that is only `**B**` / `(D)`), else from its last line; the
suite's `extract:` block can change that. The statement is then parsed as the subset's `answer` type:

| answer | targets | read from the statement |
| --- | --- | --- |
| `choice` | `(A)`..`(R)` | `(D)`, `D`, `D)`, `D.`, `option D`, "I choose D", or the text of exactly one |
| | | option ("heptagon") |
| `true_false` | True / False | the word (after the last `=` of a restated expression) |
| `yes_no` | Yes / No, yes / no | the word (in a last-line fallback: its first or last word); |
| | | "plausible" / "not plausible" count as yes / no |
| `valid_invalid` | valid / invalid | the word; "not valid" is invalid |
| `number` | `24`, `-50` | the number (after the last `=`), any script/separators; "eight" for small counts |
| `dyck` | `] ) >` | the first run of bracket-only words (prose around it dropped); the whole |
| | | completed sequence counts too |
| `words` | `apple banana` | the words, split at spaces and commas, list markers and punctuation dropped; |
| | | none of the question's `List:` words: no answer |
| `text` | anything | the statement, case and punctuation folded |
| `auto` (default) | | the type the gold looks like |

Where the statement names several candidates, the first after the phrase is the answer ("(D), since (A)
fails"); in a last-line fallback the last one is ("(A) and (C) fail, so (D)"). Comparison follows the
official normalisation: case, a trailing full stop and the parentheses around a letter do not matter;
numbers compare as exact decimals. A response with no readable answer grades `extracted=None`, which
reports count as an extraction failure, apart from wrong answers. Three BBH targets are option texts, not
letters (e.g. movie_recommendation's "Monsters, Inc"): those compare as `text`.
"""

from __future__ import annotations

import re
from typing import Literal

from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions
from evalharness.graders.exact_match import numbers_equal
from evalharness.numerals import find_numerals
from evalharness.statements import statement_number

AnswerType = Literal["auto", "choice", "true_false", "yes_no", "valid_invalid", "number", "dyck", "words", "text"]

_OPTION_RE = re.compile(r"^\s*\(([A-R])\)\s*(.+?)\s*$", re.MULTILINE)
_WHOLE_LETTER_RE = re.compile(r"^(?:option|choice)?\s*\(?([A-R])\)?[.:)]?$", re.IGNORECASE)
_PAREN_LETTER_RE = re.compile(r"\(([A-R])\)")
_NAMED_LETTER_RE = re.compile(r"(?i:\b(?:option|choice|letter))\s*\(?([A-R])\)?(?![A-Za-z])")
_LEADING_LETTER_RE = re.compile(r"^([A-R])(?:\s*[.):\]\-–—,]|\s+(?:is|because|since|as|which)\b|$)")
_TRAILING_LETTER_RE = re.compile(r"(?<![\w'’])([A-R])$")  # "I choose B", "Therefore, B"
_BRACKETS = "()[]{}<>"
_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_BINARY = {
    "true_false": (r"\b(true|false)\b", {"true": "True", "false": "False"}),
    "yes_no": (r"\b(yes|no|not\s+plausible|implausible|plausible)\b",
               {"yes": "Yes", "no": "No", "plausible": "Yes", "implausible": "No", "not plausible": "No"}),
    "valid_invalid": (r"\b(invalid|not\s+valid|valid)\b",
                      {"valid": "valid", "invalid": "invalid", "not valid": "invalid"}),
}


class BBHOptions(GraderOptions):
    """`answer`: how to read the answer (table in the module docstring); `question_field`: the item field
    holding the question, whose `(A) text` lines are the options and whose `Input:` is a Dyck prefix."""

    answer: AnswerType = "auto"
    question_field: str = "input"


class BBHMatch(Grader):
    name = "bbh_match"
    Options = BBHOptions
    default_strategies = ("final_statement", "last_line")
    bare_answers = False

    def grade(self, exchange: Exchange) -> Grade:
        if exchange.response is None or exchange.gold is None:
            return Grade(False, None)
        gold = str(exchange.gold).strip()
        kind = answer_type(gold) if self.options.answer == "auto" else self.options.answer
        if kind == "choice" and not re.fullmatch(r"\(?[A-R]\)?", gold):
            kind = "text"  # a target that is an option's text, not its letter
        found = self.final_answer(exchange)
        if found.answer is None:
            return Grade(False, None, {"extraction": None, "answer_type": kind})
        question = str(exchange.fields.get(self.options.question_field) or "")
        answer = read_answer(kind, found.answer, question, last=found.how == "last_line")
        details = {"extraction": found.how, "statement": found.answer[:200], "answer_type": kind}
        if answer is None:
            return Grade(False, None, details)
        return Grade(answers_equal(kind, answer, gold, question), answer, details)


def answer_type(gold: str) -> str:
    """The answer type a BBH target looks like."""
    low = gold.strip().lower()
    if re.fullmatch(r"\([a-r]\)", low):
        return "choice"
    for kind, words in (("true_false", ("true", "false")), ("yes_no", ("yes", "no")),
                        ("valid_invalid", ("valid", "invalid"))):
        if low in words:
            return kind
    if re.fullmatch(r"-?\d+(?:\.\d+)?", low):
        return "number"
    if low and all(ch in _BRACKETS or ch.isspace() for ch in low):
        return "dyck"
    return "text"


def read_answer(kind: str, stated: str, question: str = "", last: bool = False) -> str | None:
    """The canonical answer of type `kind` in a statement, or None when it gives none. `last`: take the
    last candidate (a last-line fallback) instead of the first (a statement)."""
    if kind == "choice":
        letter = choice_letter(stated, options(question), last)
        return f"({letter})" if letter else None
    if kind in _BINARY:
        return _binary(kind, stated, last)
    if kind == "number":
        return _number(stated, last)
    if kind == "dyck":
        return " ".join(_brackets(stated, last)) or None
    if kind == "words":
        words = _words(stated)
        listed = set(_words(question.rsplit("List:", 1)[1])) if "List:" in question else set(words)
        return " ".join(words) if listed & set(words) else None  # no word of the list: no answer
    return _fold(stated) or None


def answers_equal(kind: str, answer: str, gold: str, question: str = "") -> bool:
    if kind == "choice":
        return answer.strip("()") == gold.strip().strip("()").upper()
    if kind in _BINARY:
        return answer.casefold() == gold.strip().rstrip(".").casefold()
    if kind == "number":
        gold_number = find_numerals(gold)
        return len(gold_number) == 1 and numbers_equal(answer, gold_number[0][1])
    if kind == "dyck":
        said, wanted = answer.split(), _brackets(gold)
        return said == wanted or said == _brackets(question.rsplit("Input:", 1)[-1]) + wanted
    if kind == "words":
        return answer.split() == _words(gold)
    return answer == _fold(gold)


def options(question: str) -> dict[str, str]:
    """The `(A) text` option lines of a question: letter -> text."""
    return {m.group(1): m.group(2) for m in _OPTION_RE.finditer(question)}


def choice_letter(stated: str, opts: dict[str, str] | None = None, last: bool = False) -> str | None:
    """The option letter a statement gives: the whole statement, a `(D)`, "option D", a leading `D)` or a
    closing "... D", else the one option whose text it contains."""
    stated = stated.strip()
    whole = _WHOLE_LETTER_RE.match(stated)
    if whole:
        return whole.group(1).upper()
    found = [(m.start(), m.group(1)) for regex in (_PAREN_LETTER_RE, _NAMED_LETTER_RE, _LEADING_LETTER_RE,
                                                   _TRAILING_LETTER_RE) for m in regex.finditer(stated)]
    if found:
        return (max(found) if last else min(found))[1]
    return _letter_by_text(stated, opts or {})


def _letter_by_text(stated: str, opts: dict[str, str]) -> str | None:
    """The letter of the one option whose text the statement contains (the longest, when one option's
    text contains another's); None when no option or several unrelated ones match."""
    said = f" {_fold(stated)} "
    hits = {letter: _fold(text) for letter, text in opts.items()
            if _fold(text) and f" {_fold(text)} " in said}
    best = [l for l, t in hits.items() if not any(t != o and t in o for o in hits.values())]
    return best[0] if len(best) == 1 else None


def _binary(kind: str, stated: str, last: bool) -> str | None:
    pattern, canon = _BINARY[kind]
    if kind == "true_false" and "=" in stated:
        stated = stated.rsplit("=", 1)[1]
    matches = list(re.finditer(pattern, stated, re.IGNORECASE))
    if last and kind == "yes_no":  # a closing line answers with its first or last word: "No, she lies."
        edge = re.sub(r"^\W+|\W+$", "", stated)  # ("There is no correct answer" says neither)
        matches = [m for m in matches if m.group(0).lower() in (edge[:len(m.group(0))].lower(),
                                                                 edge[-len(m.group(0)):].lower())]
    words = [" ".join(m.group(1).lower().split()) for m in matches]
    if not words:
        return None
    return canon[words[-1] if last else words[0]]


def _number(stated: str, last: bool) -> str | None:
    if last:
        found = find_numerals(stated)
        number = found[-1][1] if found else None
    else:
        number = statement_number(stated)
    if number is None:
        word = re.search(rf"\b({'|'.join(_NUMBER_WORDS)})\b", stated, re.IGNORECASE)
        number = _NUMBER_WORDS[word.group(1).lower()] if word else None
    return number


def _brackets(text: str, last: bool = False) -> list[str]:
    """The brackets of a Dyck answer: the first (or `last`) run of words made only of brackets, so prose
    around it ("we need", "(closing the [ first)") is left out."""
    runs: list[list[str]] = [[]]
    for token in text.split():
        token = token.strip("`'\".,;:*")
        if token and all(ch in _BRACKETS for ch in token):
            runs[-1].extend(token)
        elif token and runs[-1]:
            runs.append([])
    runs = [run for run in runs if run]
    return (runs[-1] if last else runs[0]) if runs else []


def _words(text: str) -> list[str]:
    """The words of a word-sorting answer, lower-cased: list markers, commas and edge punctuation dropped."""
    tokens = (t.strip(".,;:!?\"'`“”‘’()[]*") for t in re.split(r"[\s,]+", text))
    return [t.lower() for t in tokens if t and not re.fullmatch(r"\d+[.)]?|[-•*–]", t)]


def _fold(text: str) -> str:
    """Case- and punctuation-folded text for comparing free-text answers."""
    return " ".join(re.sub(r"[^\w&\s]", " ", text.casefold()).split())

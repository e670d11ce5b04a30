"""`choice`: generative multiple choice. The model writes its answer; the grader reads which option it chose
and compares that option's letter with the gold letter(s).

Reading the answer is the run's extraction rule, by default the `choice_letter` strategy (choice_letter.py:
the last answer statement or box, else the closing line; an option's text counts as its letter). A
suite's `extract.patterns` may come first; what a pattern captures ("(B)", "B) Paris", "Paris") is turned
into a letter the same way. The item's options and letters come from its `choices:` block (choices.py):
fields `choice_texts`, `choice_letters`, and `gold` as the letter shown (a list when several options are
right). Without them (offline grading of bare records) letters A-J are read and the gold may be written
"B", "(B)" or "B.".

A response in which no option can be read grades `correct=False, extracted=None` with
`details.extraction = None`: results.json counts those as `unextracted`, apart from wrong answers.
"""

from __future__ import annotations

import re
from typing import Any

from evalharness.extract import Context
from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions

_GOLD_RE = re.compile(r"^\(?([A-Z])\)?[.:)]?$")


class ChoiceOptions(GraderOptions):
    """`text_answers`: an option's text written instead of its letter ("The answer is Paris.") counts as
    that option (false: only letters count)."""

    text_answers: bool = True


class Choice(Grader):
    name = "choice"
    Options = ChoiceOptions
    default_strategies = ("choice_letter",)
    bare_answers = False

    def context(self, exchange: Exchange) -> Context:
        found = super().context(exchange) or Context()
        return Context(found.choices, found.labels, self.options.text_answers)

    def grade(self, exchange: Exchange) -> Grade:
        golds = gold_letters(exchange.gold)
        if exchange.response is None or not golds:
            return Grade(False, None)
        context = self.context(exchange)
        found = self.extractor(exchange.text, context)
        letter = as_letter(found.answer, context) if found.answer is not None else None
        if letter is None:
            details: dict[str, Any] = {"extraction": None}
            if found.answer is not None:
                details["unreadable"] = found.answer[:200]
            return Grade(False, None, details)
        details = {"extraction": found.how}
        if letter in context.labels and context.choices:
            details["option"] = context.choices[context.labels.index(letter)]
        return Grade(letter in golds, letter, details)


def gold_letters(gold: Any) -> set[str]:
    """The right letters: "B", "(B)", "B." or a list of them."""
    values = gold if isinstance(gold, (list, tuple, set)) else [gold]
    out = set()
    for value in values:
        match = _GOLD_RE.match(str(value).strip()) if value is not None else None
        if match:
            out.add(match.group(1))
    return out


def as_letter(answer: str, context: Context) -> str | None:
    """A captured answer as a letter of the item: "B", "(B)", "B) Paris", or an option's text."""
    from evalharness.choice_letter import choice_letter

    found = choice_letter(answer.strip(), context.choices, context.labels, context.text_answers)
    return found[1] if found else None

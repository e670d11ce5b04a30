"""A toy grader, as docs/extending.md builds it: correct when the gold text appears in the response.

One file is all a grader needs; a suite names it by path (`grader: path/to/toy_grader.py:Contains`).
"""

from evalharness.graders import Exchange, Grade, Grader, GraderOptions


class ContainsOptions(GraderOptions):
    case_sensitive: bool = False  # a suite's `grader: {name: ..., case_sensitive: true}`; typos are errors


class Contains(Grader):
    name = "contains"
    Options = ContainsOptions

    def grade(self, exchange: Exchange) -> Grade:
        text, gold = exchange.text, str(exchange.gold)
        if not self.options.case_sensitive:
            text, gold = text.lower(), gold.lower()
        return Grade(correct=bool(gold) and gold in text, extracted=gold if gold in text else None)

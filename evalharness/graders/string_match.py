"""`string_match_all` and `string_match_part`: RULER's scoring, is each reference answer in the response?

The gold is one reference string or a list of them (a needle's value; every value of a multi-value or
multi-query needle; every variable of a chain). Matching ignores case (RULER's rule) unless
`case_sensitive`; with `whole_word`, a reference must not sit inside a longer word or number (so gold 412
is not found in 4125). Nothing is extracted first: the reference may appear anywhere in the response.

- `string_match_all`: the share of references found is `details.score` (RULER averages that share over
  samples); the sample is correct when the share is at least `pass_fraction` (default 1.0: every reference
  found, a per-sample yes/no that the accuracy, intervals and comparisons of this harness can use).
- `string_match_part`: correct when any reference is found (RULER's QA scoring); score 1 or 0.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import msgspec

from evalharness.graders.base import Exchange, Grade, Grader, GraderOptions

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


class StringMatchOptions(GraderOptions):
    case_sensitive: bool = False
    whole_word: bool = False
    pass_fraction: Annotated[float, msgspec.Meta(gt=0, le=1)] = 1.0


def references(gold: Any) -> list[str]:
    """The gold as a list of non-empty reference strings."""
    values = gold if isinstance(gold, (list, tuple)) else [gold]
    return [str(v).strip() for v in values if v is not None and str(v).strip()]


def found_in(text: str, reference: str, options: StringMatchOptions) -> bool:
    flags = 0 if options.case_sensitive else re.IGNORECASE
    if not options.whole_word:
        return (reference in text) if options.case_sensitive else (reference.lower() in text.lower())
    return re.search(rf"(?<![0-9A-Za-z]){re.escape(reference)}(?![0-9A-Za-z])", text, flags) is not None


class StringMatchAll(Grader):
    name = "string_match_all"
    Options = StringMatchOptions
    any_reference = False

    def grade(self, exchange: Exchange) -> Grade:
        refs = references(exchange.gold)
        if exchange.response is None or not refs:
            return Grade(False, None, {"score": 0.0})
        text = _CONTROL.sub("", exchange.text)
        found = [ref for ref in refs if found_in(text, ref, self.options)]
        score = len(found) / len(refs)
        correct = bool(found) if self.any_reference else score >= self.options.pass_fraction - 1e-12
        missing = [ref for ref in refs if ref not in found]
        return Grade(correct, ", ".join(found) or None,
                     {"score": 1.0 if self.any_reference and found else score, "missing": missing})


class StringMatchPart(StringMatchAll):
    name = "string_match_part"
    any_reference = True

r"""Which option a multiple-choice response chose: the `choice_letter` extraction strategy (extract.py).

Chat models do not answer with a bare letter; they reason first, naming other options on the way
("(A) is wrong because ... B cannot be ..."), then conclude. So the answer is the *final* conclusion,
never the first letter seen. In order of trust:

1. answer statements and boxes: "Answer: B", "**Answer:** (B)", "The answer is (B).", "the correct option
   is B) Paris", "Final answer: $\boxed{B}$", "I choose B", `\boxed{\text{B}}`, "B is the correct answer".
   The LAST one in the response wins (models restate and correct themselves); within it, the first
   letter after the phrase ("The answer is B, not A" is B). "The answer is not C" is no statement. When
   the statement names no letter, the option's text may stand for it ("The answer is Paris."), when
   exactly one option fits.
2. without a statement, the closing line: "B", "(B)", "**B**", "B.", "B) Paris", "Option B", "... so B.",
   a line that is just an option's text, or a line with one parenthesised letter "(B)" (a closing line
   in a list of "A. ...", "B. ..." lines restates the options and answers nothing).
3. then the last line that is only a letter (the answer first, an explanation after: "B\n\nExplanation:
   A is wrong ..."), then the last bold letter anywhere ("**B**", "**B) Paris**").

A letter is read only where a letter means a choice: after a phrase, in parentheses, in bold, alone, or
before ")", "." or ":" (a lower-case one only right after a phrase, as "(c)" or alone: "Answer: c"). A
capital "A" or "I" starting a sentence ("A good approach is ...", "I think") is a word, not an answer.
Letters outside the item's options (E for a four-option question) are not answers. A `<think>...</think>`
block is skipped when text follows it. Pure functions over `str`.
"""

from __future__ import annotations

import re
from typing import Sequence

DEFAULT_LETTERS = "ABCDEFGHIJ"  # when the item's letters are unknown (offline grading)
ALL_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_CONNECTORS = frozenset("""because since as which with for and or is it was are so while given that this
    the but not although though here in on from due""".split())
_VERB = r"(?:is|would\s+be|should\s+be|must\s+be|will\s+be|has\s+to\s+be|appears\s+to\s+be|seems\s+to\s+be)"
_FILLER = r"(?:\s+(?:here|then|therefore|thus|overall|clearly))?"
_STATEMENT_RE = re.compile(
    r"(?i:\banswers?\b[\s*_\"']*" + _FILLER + r"\s*(?:" + _VERB + r"\b[\s*_]*[:：]?|[:：=]|\s[-–—]\s)"
    r"|\b(?:correct|best|right|final|most\s+(?:appropriate|likely|accurate|plausible))\s+"
    r"(?:option|choice|response|statement|selection)\b[\s*_]*" + _FILLER + r"\s*(?:" + _VERB +
    r"\b[\s*_]*[:：]?|[:：=])"
    r"|\bI\s+(?:would\s+|will\s+)?(?:choose|pick|select|go\s+with)\b"
    r"|\bI'(?:ll|d)\s+(?:choose|pick|select|go\s+with)\b)"
)
_CHOOSE_RE = re.compile(r"(?i:\bI\b|\bI')")
# "C is the correct answer", "(C) is correct", "Option C is the best choice": the letter comes first
_VERDICT_RE = re.compile(
    r"(?:(?<![\w'’*_])|(?i:\b(?:option|choice)\s+))[*_]{0,2}\(?([A-Z])\)?[*_]{0,2}\s+"
    r"(?i:is\s+(?:the\s+)?(?:correct|right|best|true)(?:\s+(?:answer|option|choice|one))?\b)"
)
# the head of a statement: markup and wrappers, an optional "option"/"choice" word, the letter
_HEAD_RE = re.compile(
    r"^(?:[\s*_`\"'“”‘’\[(<{$#]|\\(?:boxed|text|textbf|mathrm|mathbf)\s*\{|\\\(|\\\[)*"
    r"(?:(?i:option|choice|letter)\s*[:：]?\s*[\[(*_]*)?"
    r"([A-Z])(?![\w'’]|-\w)"
)
_LOWER_HEAD_RE = re.compile(r"^[\s*_`\[$]*\(?([a-z])(?:\)|[.:]?[*_`\]$\s]*$)")
_AFTER_WORD_RE = re.compile(r"^\s+([A-Za-z]+)")
_CLOSING_RES = (
    re.compile(r"^\(?([A-Z])\)?[.:)\]]?$"),                          # B / (B) / B. / B)
    re.compile(r"^\(?([A-Z])[.):\]]\s+\S"),                          # B) Paris / B. Paris / (B) Paris
    re.compile(r"^(?i:option|choice|letter)\s*\(?([A-Z])\)?(?:[.!]?$|[.):]\s)"),  # Option B / Option B: Paris
    re.compile(r"(?i:\b(?:so|therefore|thus|hence|then)\b)[,:]?\s+\(?([A-Z])\)?[.!]?$"),  # ..., so B.
    re.compile(r"(?<![\w'’])(?<!not )\(?([A-Z])\)?[.!]?$"),          # ... would be B. (not "is not C.")
)
_LETTER_LINE_RE = re.compile(r"^[ \t>#*_]{0,8}\(?([A-Z])\)?[.:)]?[ \t*_]{0,8}$", re.MULTILINE)
_BOLD_RE = re.compile(r"\*\*\s*\(?([A-Z])\)?\s*(?:[.):]\s*[^*\n]{0,200})?\*\*")
_PAREN_RE = re.compile(r"\(([A-Z])\)")
_MARKUP_RE = re.compile(r"[*_`#>]+|\$|\\\(|\\\)|\\\[|\\\]|\\text(?:bf)?\s*\{|\\boxed\s*\{|[{}]")
_BOX_RE = re.compile(r"\\(?:boxed|fbox)\s*\{")
_MAX_STATEMENTS = 200


def choice_letter(text: str, choices: Sequence[str] = (), letters: Sequence[str] = (),
                  text_answers: bool = True) -> tuple[int, str] | None:
    """(position, letter) of the option the response chose, or None (see the module docstring).
    `choices` are the option texts as shown, `letters` their letters (default A-J)."""
    text = _after_thinking(text or "")
    letters = tuple(letters) or tuple(ALL_LETTERS[: len(choices)] if choices else DEFAULT_LETTERS)
    texts = list(choices) if text_answers else []
    return (_last_statement(text, letters, texts) or _closing_line(text, letters, texts)
            or _last_letter_line(text, letters) or _last_bold(text, letters))


def _after_thinking(text: str) -> str:
    head, sep, tail = text.rpartition("</think>")
    return tail if sep and tail.strip() else text


def _last_statement(text: str, letters: tuple[str, ...], texts: list[str]) -> tuple[int, str] | None:
    """The last answer statement or box that names an option (read from the end; at most the last
    `_MAX_STATEMENTS` are tried, so hostile text of thousands of "Answer:" costs little)."""
    found = [(m.start(), m.end(), False, bool(_CHOOSE_RE.match(m.group(0))))
             for m in _STATEMENT_RE.finditer(text)]
    found += [(m.start(), m.end() - 1, True, False) for m in _BOX_RE.finditer(text)]
    found += [(m.start(1), m.start(1), False, True) for m in _VERDICT_RE.finditer(text)]
    for start, end, boxed, chooses in sorted(found, reverse=True)[:_MAX_STATEMENTS]:
        segment = _box_content(text, end) if boxed else text[end:end + 400]
        letter = _read_head(segment, letters, [] if chooses else texts)
        if letter:
            return start, letter
    return None


def _box_content(text: str, brace: int) -> str:
    depth = 0
    for i in range(brace, min(len(text), brace + 400)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return text[brace + 1:i]
    return text[brace + 1:brace + 400]


def _read_head(segment: str, letters: tuple[str, ...], texts: list[str]) -> str | None:
    """The letter (or the option whose text) a statement's remainder starts with; None for "not ...",
    a capital used as a word ("A good ..."), or nothing readable."""
    segment = segment.lstrip()
    first_line = segment.split("\n", 1)[0] if segment.split("\n", 1)[0].strip(" *_:") else segment
    if re.match(r"(?i)^[*_\s]*not\b", first_line):
        return None
    match = _HEAD_RE.match(first_line)
    if match and match.group(1) in letters:
        letter = _letter_or_word(match.group(1), first_line[match.end():], letters, texts)
        if letter:
            return letter
    said = first_line.split("\n", 1)[0]
    exact = _option_by_text(said, letters, texts, exact=True)
    if exact:
        return exact
    small = _LOWER_HEAD_RE.match(first_line)  # "the answer is (c)": a lower-case letter, marked as one
    if small and small.group(1).upper() in letters:
        return small.group(1).upper()
    return _option_by_text(said, letters, texts)


def _letter_or_word(letter: str, rest: str, letters: tuple[str, ...], texts: list[str]) -> str | None:
    """The letter, unless it is a word starting a phrase: "A because" and "B Paris" (B's own text) are
    choices; "A noble gas" is the article before an option's text (that option), or before prose (None)."""
    word = _AFTER_WORD_RE.match(rest)
    if word is None or word.group(1).lower() in _CONNECTORS:
        return letter
    following = _normalise(rest)
    starts = [i for i, t in enumerate(texts) if _normalise(t) and following.startswith(_normalise(t))]
    if letters.index(letter) in starts:
        return letter
    return letters[starts[0]] if len(starts) == 1 and starts[0] < len(letters) else None


def _normalise(text: str) -> str:
    text = _MARKUP_RE.sub(" ", text).lower()
    return " ".join(text.split()).strip(" .,;:!?\"'“”‘’()[]")


def _option_by_text(segment: str, letters: tuple[str, ...], texts: list[str], exact: bool = False) -> str | None:
    """The letter of the one option whose text the segment is, or contains (the longest such option);
    None when none or two different options fit equally."""
    if not texts:
        return None
    said = _normalise(segment)
    if not said:
        return None
    options = [_normalise(t) for t in texts]
    equal = [i for i, option in enumerate(options) if option and option == said]
    if len(equal) == 1:
        return letters[equal[0]] if equal[0] < len(letters) else None
    if exact or equal:  # only equality asked for, or two options with the same text
        return None
    spans = {i: [m.span() for m in re.finditer(r"(?<!\w)" + re.escape(option) + r"(?!\w)", said)]
             for i, option in enumerate(options) if option}
    named = _named(spans)
    if len(named) != 1 or named[0] >= len(letters):
        return None
    return letters[named[0]]


def _bare(line: str) -> str:
    return re.sub(r"\*\*|__", "", line.strip().strip("*_#>` \t").strip()).strip()


def _named(spans: dict[int, list[tuple[int, int]]]) -> list[int]:
    """Options mentioned in their own right: not every mention of them lies inside a longer option's
    mention ("17" names 17, not 7; "7 or 17" names both)."""
    def inside(i: int, start: int, end: int) -> bool:
        return any(j != i and a <= start and end <= b and b - a > end - start for j in spans for a, b in spans[j])

    return [i for i, found in spans.items() if found and not all(inside(i, a, b) for a, b in found)]


def _closing_line(text: str, letters: tuple[str, ...], texts: list[str]) -> tuple[int, str] | None:
    lines = [(m.start(), m.group(0)) for m in re.finditer(r"[^\n]+", text) if m.group(0).strip(" \t*_#>`")]
    if not lines:
        return None
    start, line = lines[-1]
    bare, before = _bare(line), _bare(lines[-2][1]) if len(lines) > 1 else ""
    in_list = bool(_CLOSING_RES[1].search(before))  # "A. ...\nB. ...\nC. ..." lists options, answers none
    for regex in _CLOSING_RES:
        match = regex.search(bare)
        if match and match.group(1) in letters and not (in_list and regex is _CLOSING_RES[1]):
            return start, match.group(1)
    letter = _option_by_text(bare, letters, texts) if texts and _normalise(bare) in map(_normalise, texts) else None
    if letter:
        return start, letter
    parens = {m.group(1) for m in _PAREN_RE.finditer(bare) if m.group(1) in letters}
    if len(parens) == 1:
        return start, parens.pop()
    return None


def _last_letter_line(text: str, letters: tuple[str, ...]) -> tuple[int, str] | None:
    """The last line that is nothing but a letter ("C", "(C)", "**C**", "C."), when the answer comes first
    and an explanation follows ("C\n\nExplanation: A is wrong because ...")."""
    for match in reversed(list(_LETTER_LINE_RE.finditer(text))[-_MAX_STATEMENTS:]):
        if match.group(1) in letters:
            return match.start(), match.group(1)
    return None


def _last_bold(text: str, letters: tuple[str, ...]) -> tuple[int, str] | None:
    found = [(m.start(), m.group(1)) for m in _BOLD_RE.finditer(text) if m.group(1) in letters]
    return found[-1] if found else None

"""Where a response states its final answer, in the 11 languages of MGSM and the styles chat models use.

Chain-of-thought answers mention many candidate answers before they commit to one, so these strategies
never take the first thing that looks like an answer; they take the *last statement*:

- an answer phrase followed by a connector: "So the answer is (D).", "**Answer:** 18", "Final answer:
  B", "Die Antwort lautet 18", "La respuesta es 18", "La réponse est 18", "Ответ: 18", "答案是 18",
  "答えは18です", "คำตอบคือ 18", "Jibu ni 18", "উত্তর হল ১৮", "సమాధానం: 18" (a phrase needs its
  connector, so "To answer this, ..." is no statement); a heading such as "### Final Answer" or
  "**Answer**" alone on its line takes the next line. "The answer is not (A)" / "not 12" rejects a
  candidate and is skipped.
- the last `\\boxed{...}`;
- GSM8K's `#### 18`;
- the response's last line, when it is nothing but a bold phrase (`**B**`), a letter (`(D)`), or an
  option with its text (`B) heptagon`) that does not end a list of options.

The one of these written last wins. The statement's text is the rest of its line (or, after a heading or
a bare "Answer:", the next block of lines), with markdown, quotes and the closing full stop removed.

Strategies (named in `extract.py`, which imports this module on first use; usable in any suite's
`extract.strategies`):
- `final_statement`: that text, as written ("(D)", "Yes", "] ) )", "18 dollars").
- `last_line`: the last non-empty line, markup removed (a fallback for answers given without a phrase).
- `final_number`: the number in the final statement (after its last "=" when it shows a computation,
  else the first), in any script and locale (`numerals.py`), as a canonical decimal string.
- `last_numeral`: the last number anywhere in the response, read the same way (a fallback guess).
"""

from __future__ import annotations

import re

from evalharness.extract import find_boxed, last_boxed
from evalharness.numerals import find_numerals

# Answer words: Latin/Cyrillic ones must start a word; the others are written without spaces around them.
_WORDS = (r"(?:(?<!\w)(?:final\s+answer|answer|antwort|respuesta(?:\s+final)?|r[ée]ponse(?:\s+finale)?|"
          r"ответ|jibu(?:\s+la\s+mwisho)?)|"
          r"উত্তর|సమాధానం|జవాబు|คำตอบ(?:สุดท้าย)?|答え|答案|(?<!#)####(?!#))")
_CONNECTORS = (r"(?:is\b|would\s+be\b|will\s+be\b|lautet\b|ist\b|wäre\b|es\b|sería\b|est\b|sera\b|ni\b|"
               r"будет\b|равен\b|составляет\b|:|：|=|—|–|是|为|為|は|คือ|হল|হলো|হচ্ছে)")
# a connector, or a number right after the word ("సమాధానం 18", "答案18")
PHRASE_RE = re.compile(rf"{_WORDS}[ \t]*(?:\*\*|__)?[ \t]*(?:{_CONNECTORS}[ \t:：*_]*|(?=[-−+$€£]?\d))",
                       re.IGNORECASE)
HEADING_RE = re.compile(rf"^[ \t#>*_]*{_WORDS}[ \t*_:：]*$", re.IGNORECASE | re.MULTILINE)
_BOLD_LINE_RE = re.compile(r"^\s*(?:\*\*|__)([^*_\n]{1,400})(?:\*\*|__)\s*[.。]?\s*$")
_LETTER_LINE_RE = re.compile(r"^\s*(\(?[A-Z]\)?)\s*\.?\s*$")
_OPTION_LINE_RE = re.compile(r"^\s*(\(?[A-Z][).:]\s+\S.{0,80})$")  # "B) heptagon" as the closing line
_MARKUP_RE = re.compile(r"\*\*|__|`|\\text(?:bf|rm)?\{([^{}]*)\}|\\mathrm\{([^{}]*)\}")
_REJECTION_RE = re.compile(r"(?i:not)\s+(?:\(?[A-Z]\)?(?!\w)|[-\d])")  # "not (A)", "not 12"; "not valid" is an answer
_MAX_STATEMENT = 400
_BLOCK_RE = re.compile(r"[ \t]*\n(?:[ \t]*\n)*((?:[ \t]*\S[^\n]*(?:\n|$))+)")  # linear: no nested ambiguity


def _clean(text: str) -> str:
    """A statement without markdown, wrapping quotes/math dollars and its closing full stop."""
    text = _MARKUP_RE.sub(lambda m: m.group(1) or m.group(2) or "", text)
    text = " ".join(text.split())
    text = text.strip(" \t\"'“”‘’«»「」『』$*_:：")
    return re.sub(r"[\s.。।]+$", "", text).strip()


def _rest_of_statement(text: str, start: int) -> str:
    """The text stated from `start`: the rest of its line, or the next block when the line ends there."""
    line_end = text.find("\n", start)
    line = text[start: line_end if line_end >= 0 else len(text)]
    if _clean(line) or line_end < 0:
        return line[:_MAX_STATEMENT]
    block = _BLOCK_RE.match(text, line_end)
    return block.group(1)[:_MAX_STATEMENT] if block else ""


def _phrase_statements(text: str) -> list[tuple[int, str]]:
    found = []
    for match in PHRASE_RE.finditer(text):
        stated = _clean(_rest_of_statement(text, match.end()))
        if stated and not _REJECTION_RE.match(stated):
            found.append((match.start(), stated))
    for match in HEADING_RE.finditer(text):
        stated = _clean(_rest_of_statement(text, match.end()))
        if stated:
            found.append((match.start(), stated))
    return found


def _final_line(text: str) -> tuple[int, str] | None:
    """(offset, text) of the last non-empty line."""
    stripped = text.rstrip()
    if not stripped:
        return None
    start = stripped.rfind("\n") + 1
    return start, stripped[start:]


def final_statement(text: str) -> tuple[int, str] | None:
    """(offset, text) of the statement written last (see the module docstring), or None."""
    if not text:
        return None
    candidates = _phrase_statements(text)
    boxes = find_boxed(text)
    boxed = last_boxed(text) if boxes else None
    if boxed is not None and _clean(boxed):
        candidates.append((boxes[-1][0], _clean(boxed)))
    closing = _closing_answer_line(text)
    if closing is not None:
        candidates.append(closing)
    return max(candidates, key=lambda c: c[0]) if candidates else None


def _closing_answer_line(text: str) -> tuple[int, str] | None:
    """The last line as a statement when it is only an answer: `**...**`, `(D)`, or `B) text` that is not
    the end of a list of options."""
    line = _final_line(text)
    if line is None:
        return None
    start, content = line
    short = _BOLD_LINE_RE.match(content) or _LETTER_LINE_RE.match(content)
    if short is None and _OPTION_LINE_RE.match(content):
        before = _final_line(text[:start])
        short = None if before and _OPTION_LINE_RE.match(before[1]) else _OPTION_LINE_RE.match(content)
    if short is None or short.group(1).rstrip().endswith((":", "：")) or not _clean(short.group(1)):
        return None
    return start, _clean(short.group(1))


def last_line(text: str) -> tuple[int, str] | None:
    """(offset, text) of the last non-empty line, markup removed."""
    line = _final_line(text or "")
    if line is None or not _clean(line[1]):
        return None
    return line[0], _clean(line[1])


def statement_number(stated: str) -> str | None:
    """The number a statement gives: after its last "=" when it shows a computation, else its first."""
    if "=" in stated:
        after = find_numerals(stated.rsplit("=", 1)[1])
        if after:
            return after[0][1]
    found = find_numerals(stated)
    return found[0][1] if found else None


def final_number(text: str) -> tuple[int, str] | None:
    found = final_statement(text)
    if found is None:
        return None
    number = statement_number(found[1])
    return (found[0], number) if number is not None else None


def last_numeral(text: str) -> tuple[int, str] | None:
    found = find_numerals(text or "")
    return found[-1] if found else None


STRATEGIES = {
    "final_statement": final_statement,
    "last_line": last_line,
    "final_number": final_number,
    "last_numeral": last_numeral,
}

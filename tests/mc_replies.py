"""Replies for multiple-choice suites, in the answer styles chat models really write, built from the items
and prompts a suite really loads (so a test's truth is the data's, not a copy of it).

`oracle(suite, limit, right, garbage)` returns the stub server's `replies` (keyed by each item's exact last
user message) and, per subset, how many items the replies answer right: `right(i)` says whether the i-th
item gets its gold letter, `garbage(i)` whether it gets a reply that names no option at all.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from evalharness.runner import RunOptions, build_jobs, load_suite_items
from evalharness.suite import load_suite

# {L}: the letter answered; {T}: its option text; {O}/{P}: other letters, named on the way.
STYLES = (
    "Let me look at each option.\n({O}) does not fit the question.\n({P}) is tempting, but wrong.\n"
    "Therefore, the answer is ({L}).",
    "Option {O} can be ruled out first. Then {P} fails too.\n\n**Answer: {L}**",
    "A good first step is to restate the question. {O} and {P} contradict it.\n\nAnswer: {L}",
    "Comparing ({O}) with ({L}): only one is consistent.\n\nThe correct option is {L}) {T}",
    "We check {O}, then {P}. Final answer: $\\boxed{{{L}}}$",
    "I considered {O}, but the evidence points elsewhere.\n\n**{L}**",
    "Step by step: {O} is false and {P} is false.\n\n{L}) {T}",
    "At first I thought the answer was {O}, but after checking again I choose {L}.",
    "**Answer:** {L}\n\nOption {O} is incorrect because it ignores the question, and so is {P}.",
    "The answer is {T}.",
    "My first guess was that the answer is {O}. Checking it against the question, that fails.\n\nAnswer: {L}",
    "Final answer: {O}? No: re-reading the question rules it out.\n\nThe answer is {L}.",
    "Weighing the options, ({O}) is incorrect and ({P}) is incorrect. {L} is the correct answer.",
    "{L}\n\nExplanation: {O} is wrong because it misreads the question; {P} is wrong as well.",
)
GARBAGE = ("I am not able to decide between these.", "Hmm, this one is tricky; more context is needed.")


@dataclass
class Oracle:
    replies: dict[str, str] = field(default_factory=dict, repr=False)  # never shown: GPQA must stay unprinted
    right: dict[str, int] = field(default_factory=lambda: defaultdict(int))   # subset -> items right
    total: dict[str, int] = field(default_factory=lambda: defaultdict(int))   # subset -> items
    unextracted: int = 0

    def accuracy(self, subset: str | None = None) -> float:
        if subset is not None:
            return self.right[subset] / self.total[subset]
        return sum(self.right.values()) / sum(self.total.values())

    def macro(self) -> float:
        return sum(self.right[s] / self.total[s] for s in self.total) / len(self.total)


def reply(style: int, letter: str, letters: list[str], texts: list[str]) -> str:
    others = [x for x in letters if x != letter] or [letter]
    template = STYLES[style % len(STYLES)]
    index = letters.index(letter)
    if "{T}" in template and not _unique_text(texts, index):
        template = STYLES[(style + 1) % len(STYLES)]
    return template.format(L=letter, T=texts[index], O=others[0], P=others[-1])


def _unique_text(texts: list[str], index: int) -> bool:
    """An option's text can stand for its letter only when no other option's text holds it or is held by it
    (then a reader could not tell which was meant), and when it is a short single line."""
    mine = " ".join(texts[index].lower().split())
    if not mine or "\n" in texts[index] or len(mine) > 200 or re.match(r"[A-Za-z](?![A-Za-z])", texts[index]):
        return False  # "C) both", "I think" or an option "c" would read as a letter
    for i, other in enumerate(texts):
        other = " ".join(other.lower().split())
        if i != index and (mine in other or other in mine):
            return False
    return True


def oracle(suite_path, limit: int, right, garbage=lambda i: False, overrides: tuple[str, ...] = ()) -> Oracle:
    suite = load_suite(suite_path, overrides)
    items = load_suite_items(suite, RunOptions(limit=limit))
    out = Oracle()
    intended: dict[str, str | None] = {}
    for i, job in enumerate(build_jobs(suite, items, {})):
        fields = job.item.fields
        letters, texts = list(fields["choice_letters"]), list(fields["choice_texts"])
        golds = fields["gold"] if isinstance(fields["gold"], list) else [fields["gold"]]
        prompt = job.request.messages[-1]["content"]
        if prompt not in intended:  # the first item with this prompt decides its reply
            if garbage(i):
                intended[prompt], out.replies[prompt] = None, GARBAGE[i % len(GARBAGE)]
            else:
                wrong = [x for x in letters if x not in golds]
                letter = golds[0] if right(i) or not wrong else wrong[i % len(wrong)]
                intended[prompt], out.replies[prompt] = letter, reply(i, letter, letters, texts)
        subset = str(job.item.subset)
        out.total[subset] += 1
        out.right[subset] += intended[prompt] in golds
        out.unextracted += intended[prompt] is None
    return out


def letters_in(text: str) -> set[str]:
    return set(re.findall(r"\b[A-Z]\b", text))

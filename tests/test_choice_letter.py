"""The `choice_letter` extraction strategy and the `choice` grader, on answers written the way chat models
(Phi-4-mini among them) write them: reasoning that names other options, then a conclusion in one of many
forms. The rule under test: the FINAL answer, never the first letter seen, never a capital used as a word."""

import json

import pytest

from conftest import run_cli
from evalharness.choice_letter import choice_letter
from evalharness.extract import Context, ExtractSpec, Extractor
from evalharness.graders import make_grader
from evalharness.graders.base import Exchange

PLANETS = ["Mercury", "Venus", "Earth", "Mars"]
LETTERS = ["A", "B", "C", "D"]


def read(text, choices=PLANETS, letters=LETTERS, text_answers=True):
    found = choice_letter(text, choices, letters, text_answers)
    return found[1] if found else None


PHI_STYLE = [
    # (response, letter it chose)
    ("To find the hottest planet, compare surface temperatures. Mercury (A) is closest to the Sun but has no "
     "atmosphere to hold heat. Venus (B) has a thick CO2 atmosphere causing a runaway greenhouse effect. "
     "Earth (C) and Mars (D) are much cooler.\n\nThe answer is (B).", "B"),
    ("Let's analyze each option:\n\nA. Mercury - closest, but loses heat quickly.\nB. Venus - greenhouse effect.\n"
     "C. Earth - moderate.\nD. Mars - cold.\n\n**Answer: B**", "B"),
    ("Venus has the hottest surface.\n\nAnswer: B", "B"),
    ("**Answer:** B", "B"),
    ("Answer: B", "B"),
    ("The correct answer is B) Venus.", "B"),
    ("The final answer is $\\boxed{B}$. I hope it is correct.", "B"),
    ("Therefore, the hottest planet is Venus.\n\n\\[\\boxed{\\text{B}}\\]", "B"),
    ("Mercury is tempting (A), but Venus is hotter.\n\n**B**", "B"),
    ("Mercury is tempting, but no.\n\nB) Venus", "B"),
    ("B", "B"),
    ("(B)", "B"),
    ("B.", "B"),
    ("The answer is Venus.", "B"),
    ("Answer: Venus", "B"),
    ("Venus", "B"),
    ("Option A is wrong and option C is wrong.\nOption D is wrong too.\n\nOption B", "B"),
    ("The best choice is (B).", "B"),
    ("The most likely answer is B because of the greenhouse effect.", "B"),
    ("I would go with B.", "B"),
    ("Mercury fails, so B.", "B"),
    ("Among the options the hottest one would be B.", "B"),
    ("Final Answer: (B) Venus", "B"),
    ("### Final Answer\nThe correct option is **B. Venus**", "B"),
    ("The answer is: \n\n**(B)**", "B"),
    ('{"answer": "B"}', "B"),
    ("<think>Mercury is closest, so A? No, Venus. Answer: A... wait.</think>\nAnswer: B", "B"),
    ("Mercury loses its heat at night. B is the correct answer.", "B"),
    ("(A) is incorrect and (C) is incorrect. (B) is correct.", "B"),
    ("Option B is the best choice here, since Venus traps heat.", "B"),
    ("Answer - B", "B"),
    ("The right choice here is B, because of the greenhouse effect.\nMercury has no air.", "B"),
    ("B\n\nExplanation: A is wrong because Mercury has no atmosphere; C and D are cooler.", "B"),
    ("**B**\n\nWhy not A? Mercury has no atmosphere to hold heat.", "B"),
    ("Option B: Venus", "B"),
]


@pytest.mark.parametrize("text,letter", PHI_STYLE)
def test_phi_style_answers(text, letter):
    assert read(text) == letter


FINAL_NOT_FIRST = [
    ("My first thought: the answer is A. But Mercury has no atmosphere.\n\nThe answer is B.", "B"),
    ("Answer: A\n\nWait, let me reconsider: Venus traps heat. The correct answer is B.", "B"),
    ("(A) is wrong. (C) is wrong. (D) is wrong. So the answer is (B).", "B"),
    ("A is not right, C is not right, D is not right.\nAnswer: B", "B"),
    ("**A**? No. **C**? No.\n\nFinal answer: D", "D"),
    ("The answer is B, not A.", "B"),
    ("The answer is C; options A, B and D all fail the test.", "C"),
    ("Answer: D\n\nExplanation: Option A is incorrect because ..., option B ignores ..., option C ...", "D"),
    ("Both (A) and (C) look plausible at first.\nAfter checking, the answer is (C).", "C"),
]


@pytest.mark.parametrize("text,letter", FINAL_NOT_FIRST)
def test_the_final_answer_wins_over_letters_named_before(text, letter):
    assert read(text) == letter


NO_ANSWER = [
    "A good approach is to compare the planets' atmospheres.",
    "A planet's temperature depends on many things; I cannot tell.",
    "I think this needs more information.",
    "The answer is not C.",
    "I will reply in the form 'Answer: X' once I know.",
    "Answer: E",  # no such option
    "",
    "**Note**",
    "Option A is incorrect, option C is incorrect.",
    "Let's list them:\nA. Mercury - closest\nB. Venus - thick air\nC. Earth - ours\nD. Mars - red",
    "Venus is correct.",
    "A is the closest planet to the Sun.",
]


@pytest.mark.parametrize("text", NO_ANSWER)
def test_no_option_means_none(text):
    assert read(text) is None


def test_capital_a_as_an_article_before_an_option_text():
    options = ["noble gas", "metal", "halogen", "metalloid"]
    assert read("The answer is A noble gas.", options) == "A"  # the article before option A's text
    assert read("The answer is A halogen.", options) == "C"  # an article, then option C's text
    assert read("The answer is A because it is inert.", options) == "A"


def test_lower_case_letters_only_where_marked_as_letters():
    options = ["noble gas", "metal", "halogen", "metalloid"]
    assert read("The answer is (c).", options) == "C"
    assert read("**Answer:** (d)", options) == "D"
    assert read("Answer: c", options) == "C"
    assert read("The answer is a metal.", options) == "B"  # the article, then option B's text
    assert read("The answer is (e).", options) is None


def test_option_text_needs_one_clear_option():
    numbers = ["7", "17", "27", "70"]
    assert read("The answer is 17.", numbers) == "B"
    assert read("Answer: 70", numbers) == "D"
    assert read("The answer is 7 or 17.", numbers) is None  # two options named, neither longer
    assert read("The answer is Venus.", PLANETS, text_answers=False) is None


def test_ten_options_and_letters_beyond_d():
    options = [f"option text {i}" for i in range(10)]
    letters = list("ABCDEFGHIJ")
    assert read("Checking (A) through (H) in turn, only one works.\nThe answer is (I).", options, letters) == "I"
    assert read("I think the answer is J.", options, letters) == "J"
    assert read("Answer: I", options, letters) == "I"


def test_without_item_context_letters_a_to_j():
    assert choice_letter("Answer: (C)")[1] == "C"
    assert choice_letter("Answer: Q") is None


def test_hostile_and_huge_inputs_do_not_crash():
    for text in ("Answer: " * 20_000, "(" * 50_000, "\\boxed{" * 5_000 + "B", "**" * 30_000 + "B",
                 "__" * 30_000 + "B", "answer is " + "A " * 20_000, "\x00\ufffd" * 1000, "is the correct " * 10_000,
                 "(A) " * 30_000, "\n" * 100_000, "\\text{" * 20_000):
        choice_letter(text, PLANETS, LETTERS)


def test_strategy_through_the_extractor():
    extractor = Extractor(ExtractSpec(strategies=["choice_letter"]), ("choice_letter",))
    context = Context(tuple(PLANETS), tuple(LETTERS))
    found = extractor("(A) no. (C) no.\n\nAnswer: B", context)
    assert (found.answer, found.how) == ("B", "choice_letter")
    assert extractor("nothing here", context).answer is None


def item(gold, **extra):
    return {"choice_texts": PLANETS, "choice_letters": LETTERS, "gold": gold, **extra}


def test_grader_verdicts_and_unextracted():
    grader = make_grader("choice")
    right = grader.grade(Exchange.of_text("Mercury (A) loses heat. Answer: B", "B", item("B")))
    assert right.correct and right.extracted == "B" and right.details["option"] == "Venus"
    wrong = grader.grade(Exchange.of_text("The answer is (C).", "B", item("B")))
    assert not wrong.correct and wrong.extracted == "C"
    none = grader.grade(Exchange.of_text("A good question; I am unsure.", "B", item("B")))
    assert (none.correct, none.extracted, none.details) == (False, None, {"extraction": None})
    several = grader.grade(Exchange.of_text("Answer: D", ["B", "D"], item(["B", "D"])))
    assert several.correct
    assert not grader.grade(Exchange.of_text(None, "B", item("B"))).correct


def test_grader_options_and_patterns():
    letters_only = make_grader("choice", {"text_answers": False})
    assert letters_only.grade(Exchange.of_text("The answer is Venus.", "B", item("B"))).extracted is None
    with_pattern = make_grader("choice", {"extract": {"patterns": [r"CHOICE=(\S+)"]}})
    graded = with_pattern.grade(Exchange.of_text("Answer: A\nCHOICE=(B)", "B", item("B")))
    assert graded.correct and graded.details["extraction"] == "pattern"
    unreadable = with_pattern.grade(Exchange.of_text("CHOICE=Pluto", "B", item("B")))
    assert unreadable.extracted is None and unreadable.details["unreadable"] == "Pluto"


def test_offline_grading_with_bare_letters(tmp_path):
    rows = [{"id": "1", "response": "Reasoning about (A).\nAnswer: C", "gold": "(C)"},
            {"id": "2", "response": "The answer is B.", "gold": "C"},
            {"id": "3", "response": "no idea", "gold": "A"}]
    path = tmp_path / "records.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    proc = run_cli("grade", "choice", "--input", str(path))
    assert proc.returncode == 0, proc.stderr
    assert "accuracy 0.3333 (1/3)" in proc.stdout
    graded = [json.loads(x) for x in (tmp_path / "records.graded.jsonl").read_text().splitlines()]
    assert [g["extracted"] for g in graded] == ["C", "B", None]

"""`bbh_match`: every answer type and extraction rule, on answers written the way Phi-4-mini writes them
(reasoning first, then "So the answer is ...", "**Answer:** ...", a box, a bold last line), including
reasoning that mentions other options before the final one. Questions are made up in BBH's formats."""

import pytest

from evalharness.graders import make_grader
from evalharness.graders.bbh import answer_type, choice_letter, options

SHAPES = ("This SVG path element <path d=\"M 1,1 L 2,2 L 3,1 L 1,1\"/> draws a\nOptions:\n(A) circle\n(B) heptagon\n"
          "(C) hexagon\n(D) kite\n(E) line\n(F) triangle")
DYCK = "Complete the rest of the sequence, making sure that the parentheses are closed properly. Input: ( [ { }"
WORDS = "Sort the following words alphabetically: List: pear apple mango"


def grade(kind, response, gold, question=""):
    return make_grader("bbh_match", {"answer": kind}).grade_text(response, gold, {"input": question})


CHOICE_RIGHT = [  # all answer (F) triangle
    "The path has 3 distinct points and closes, so it is not a line (E) or a kite (D).\nSo the answer is (F).",
    "Let's check the options:\n(A) circle - no curves.\n(C) hexagon - needs 6 sides.\n(D) kite - needs 4.\n\n"
    "**Answer:** (F)",
    "Three vertices make a triangle. The correct option is (F) triangle.",
    "A kite (D) has four sides, a hexagon (C) six. Ours has three.\n\n**F**",
    "The shape has three sides.\n\nFinal answer: $\\boxed{F}$",
    "Three straight segments that close up form a triangle.\nSo the answer is triangle.",
    "Not (A), not (B). So the answer is F) triangle.",
    "The answer is (A)? No: a circle needs arcs.\nSo the answer is (F).",
    "So the answer is not (E).\nAnswer: (F)",
    "(D) and (C) are ruled out.\nTherefore, option F is correct.",
    "(F)",
    "The answer is: **(F) triangle**.",
    "If the answer is (A), the path would curve. It does not.\nF) triangle",   # closing option line
    "Three sides, so I choose F.",
    "Not (D). Therefore, F",
    "Answer:\n\n(F)",
]


@pytest.mark.parametrize("response", CHOICE_RIGHT)
def test_choice_takes_the_final_answer(response):
    result = grade("choice", response, "(F)", SHAPES)
    assert result.correct and result.extracted == "(F)", result


CHOICE_WRONG = [  # the right letter mentioned first, a wrong final answer
    "Option (F) looks tempting, but the path is open.\nSo the answer is (E).",
    "(F) triangle? No.\n**Answer:** (D)",
    "So the answer is kite.",
    "The answer is (F).\nWait, I made an error. So the answer is (C).",
]


@pytest.mark.parametrize("response", CHOICE_WRONG)
def test_choice_mentions_before_the_final_answer_do_not_count(response):
    result = grade("choice", response, "(F)", SHAPES)
    assert not result.correct and result.extracted in {"(E)", "(D)", "(C)"}, result


@pytest.mark.parametrize("response", ["I am unable to determine the shape.", "", "The answer is unclear.",
                                      "So the answer is (A) or (B), I cannot tell which one is right of them"])
def test_choice_without_an_answer_is_an_extraction_failure(response):
    result = grade("choice", response, "(F)", SHAPES)
    if response.startswith("So the answer is (A) or"):  # a statement naming several: the first is taken
        assert result.extracted == "(A)" and not result.correct
    else:
        assert result.extracted is None and not result.correct


def test_choice_letters_and_option_texts():
    opts = options(SHAPES)
    assert opts["F"] == "triangle" and len(opts) == 6
    assert choice_letter("A circle", opts) == "A"          # by text: "A circle" is not the letter A
    assert choice_letter("A circle.", {}) is None           # ... and without options it is nothing
    assert choice_letter("A is right", opts) == "A"
    assert choice_letter("I think it is a hexagon", opts) == "C"
    assert choice_letter("(A) and (C) fail, so (D)", opts, last=True) == "D"
    assert choice_letter("it is the heat", {"A": "heat", "B": "the heat", "C": "cold"}) == "B"   # the longest
    assert choice_letter("rita, sue and bob poo", {"A": "rita", "B": "sue and bob poo"}) is None  # names two
    assert choice_letter("& fire", {"C": "& fire", "F": "& fire"}) is None                        # ambiguous


def test_a_list_of_options_at_the_end_is_not_a_closing_answer():
    listed = "So the answer is (F).\n\nOther options:\n(A) circle: no\n(D) kite: no"
    assert grade("choice", listed, "(F)", SHAPES).extracted == "(F)"


def test_long_bold_word_list_on_the_last_line():
    words = " ".join(f"w{i}apple" for i in range(30))
    question = f"Sort the following words alphabetically: List: {words}"
    result = grade("words", f"If the answer is w1apple first...\n\n**{words}**", words, question)
    assert result.correct, result


def test_option_text_target_compares_as_text():
    question = "Find a movie similar to X:\nOptions:\n(A) Monsters\n(B) Inc\n(C) Heat"
    assert grade("choice", "So the answer is Monsters, Inc.", "Monsters, Inc", question).correct
    assert not grade("choice", "So the answer is (A).", "Monsters, Inc", question).correct


@pytest.mark.parametrize("kind, response, gold, extracted, correct", [
    ("true_false", "not ( True ) and ( True ) = False and True = False.\nSo the answer is False.", "False", "False", True),
    ("true_false", "So the answer is: not True or True = True", "True", "True", True),
    ("true_false", "Evaluating: True and False is False.\n**Answer:** True", "False", "True", False),
    ("yes_no", "Vernell lies, so Alexis tells the truth. Does Elanor tell the truth? No, she lies... "
               "wait, she tells the truth.\nSo the answer is Yes.", "Yes", "Yes", True),
    ("yes_no", "We end at (2, -1), not the start.\nSo the answer is No.", "No", "No", True),
    ("yes_no", "Lindholm plays hockey; beating the buzzer is basketball.\nSo the answer is no.", "no", "No", True),
    ("yes_no", "The sentence is implausible.\nSo the answer is: implausible.", "no", "No", True),
    ("yes_no", "So the answer is plausible.", "yes", "Yes", True),
    ("yes_no", "**Answer: Yes**", "no", "Yes", False),
    ("yes_no", "Elanor's statement is false.\nNo, Elanor does not tell the truth.", "No", "No", True),
    ("yes_no", "Each step checks out, so yes", "Yes", "Yes", True),
    ("valid_invalid", "The conclusion does not follow.\nSo the answer is invalid.", "invalid", "invalid", True),
    ("valid_invalid", "So the answer is not valid.", "invalid", "invalid", True),
    ("valid_invalid", "Premise 2 gives it directly, so it is valid.\n**Answer:** valid", "valid", "valid", True),
    ("valid_invalid", "So the answer is valid.", "invalid", "valid", False),
    ("number", "Instruments: flute, piano, trombone, violin (4); stoves are not.\nSo the answer is 4.", "4", "4", True),
    ("number", "So the answer is eight.", "8", "8", True),
    ("number", "((-1 + 2) - (3 * 4)) = 1 - 12 = -11.\nSo the answer is -11.", "-11", "-11", True),
    ("number", "So the answer is (4 - 6) * 5 = −10.", "-10", "-10", True),
    ("number", "So the answer is 11520.", "-11520", "11520", False),
    ("number", "So the answer is 24.0.", "24", "24.0", True),
    ("number", "1 + 1 = 2, then 2 * 3 = 6\n**Answer:** 6", "7", "6", False),
    ("dyck", "Stack: ( [ {  then } closes {.\nSo the answer is ] ).", "] )", "] )", True),
    ("dyck", "So the answer is `] )` (closing the [ and then the ().", "] )", "] )", True),
    ("dyck", "The full sequence is ( [ { } ] ).\nSo the answer is ( [ { } ] ).", "] )", "( [ { } ] )", True),
    ("dyck", "So the answer is ) ].", "] )", ") ]", False),
    ("words", "Alphabetical order: apple, mango, pear.\nSo the answer is apple mango pear.", "apple mango pear",
     "apple mango pear", True),
    ("words", "So the answer is:\n1. apple\n2. mango\n3. pear", "apple mango pear", "apple mango pear", True),
    ("words", "So the answer is apple pear mango.", "apple mango pear", "apple pear mango", False),
])
def test_typed_answers(kind, response, gold, extracted, correct):
    question = {"dyck": DYCK, "words": WORDS}.get(kind, "")
    result = grade(kind, response, gold, question)
    assert (result.extracted, result.correct) == (extracted, correct), result


@pytest.mark.parametrize("kind, response", [
    ("true_false", "I cannot evaluate this."),
    ("yes_no", "It depends on the context."),
    ("yes_no", "There is no correct answer here."),
    ("valid_invalid", "The premises are unclear."),
    ("number", "There are several instruments."),
    ("dyck", "I am not sure how to close it."),
    ("words", "Sorry, I cannot sort these."),
])
def test_typed_answers_without_an_answer_are_extraction_failures(kind, response):
    result = grade(kind, response, {"number": "4", "dyck": "] )", "words": "apple mango pear"}.get(kind, "True"),
                   {"dyck": DYCK, "words": WORDS}.get(kind, ""))
    assert result.extracted is None and not result.correct, result


def test_auto_infers_the_type_from_the_target():
    assert [answer_type(g) for g in ("(B)", "False", "no", "invalid", "-50", "] ) >", "apple pear")] == \
        ["choice", "true_false", "yes_no", "valid_invalid", "number", "dyck", "text"]
    auto = make_grader("bbh_match")
    assert auto.grade_text("So the answer is (B).", "(B)").correct
    assert auto.grade_text("So the answer is Apple, Pear.", "apple pear").correct


def test_options_are_checked_when_the_suite_loads(tmp_path):
    from evalharness.errors import UserError
    from evalharness.suite import parse_suite

    suite = {"name": "t", "description": "d", "dataset": {"local": "x.json"}, "fields": {"input": "i", "gold": "t"},
             "prompt": {"template": "{input}"}, "grader": {"name": "bbh_match", "answer": "letter"}}
    with pytest.raises(UserError, match=r"grader.answer: expected one of"):
        parse_suite(suite, source=tmp_path / "t.yaml")


def test_hostile_output_never_raises():
    grader = make_grader("bbh_match", {"answer": "choice"})
    for text in ("(" * 5000, "answer is " * 2000, "\\boxed{" * 300, "\x00\ufffd" * 100,
                 "Answer:\n" + " " * 50000 + "\n", "1," * 20000, "**" * 20000, "A) " * 10000):
        assert grader.grade_text(text, "(B)", {"input": SHAPES}).correct is False

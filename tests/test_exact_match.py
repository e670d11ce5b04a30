"""Answer extraction and exact-match grading (pure functions)."""

import pytest

from evalharness.graders import make_grader
from evalharness.graders.exact_match import extract_answer
from evalharness.errors import UserError


@pytest.mark.parametrize("response, expected", [
    ("Step 1... #### 18", "18"),
    ("so she earns 9 * 2 = 18 dollars.\nThe answer is 18.", "18."),
    ("Therefore $\\boxed{18}$.", "18"),
    ("**Answer:** 18", "18"),
    ("Final answer: 1,234", "1,234"),
    ("Answer: $42", "$42"),
    ("I computed 3 + 4 = 7 and then 7 * 2 = 14", "14"),
    ("No digits here at all.", None),
    ("The boxed value is \\boxed{\\frac{1}{2}} here", "\\frac{1}{2}"),
])
def test_extract_answer(response, expected):
    assert extract_answer(response) == expected


def test_suite_patterns_come_first():
    response = "ANS=5. The answer is 7."
    assert extract_answer(response, [r"ANS=(\d+)"]) == "5"


def test_fallback_none_returns_nothing():
    assert extract_answer("it is 12", fallback="none") is None


@pytest.mark.parametrize("response, gold, correct", [
    ("#### 18", "18", True),
    ("The answer is 18.", "18", True),
    ("$\\boxed{18}$.", "18", True),
    ("**Answer:** 18", "18", True),
    ("The answer is $1,800.", "1800", True),
    ("The answer is 18.0", "18", True),
    ("The answer is -3.", "-3", True),
    ("The answer is 3.", "-3", False),
    ("The answer is 17.", "18", False),
    ("#### 180", "18", False),
    ("I cannot solve this.", "18", False),
    ("Answer: Paris.", "paris", True),
    ("Answer: London", "Paris", False),
])
def test_exact_match_grades(response, gold, correct):
    assert make_grader("exact_match").grade_text(response, gold, {}).correct is correct


def test_hostile_and_garbage_responses_do_not_raise():
    grader = make_grader("exact_match")
    for response in ["", "\x00" * 1000, "9" * 100_000, "{" * 50_000, "<script>alert(1)</script>", None]:
        assert grader.grade_text(response, "18", {}).correct in (True, False)


def test_unknown_grader_is_a_user_error():
    with pytest.raises(UserError, match="unknown grader 'exact'; known graders: .*exact_match"):
        make_grader("exact")


def test_unicode_minus_and_latex_thousands():
    grader = make_grader("exact_match")
    assert grader.grade_text("The answer is \u22125.", "-5", {}).correct
    assert grader.grade_text("#### 1{,}000", "1000", {}).correct

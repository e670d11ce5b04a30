"""Final answer statements in 11 languages (evalharness/statements.py) and MGSM's grading with them:
suites/mgsm.yaml's own extraction rules + exact_match, on answers written the way chat models write them."""

from pathlib import Path

import pytest

from evalharness.extract import Extractor, ExtractSpec
from evalharness.graders import make_grader
from evalharness.graders.exact_match import ExactMatch
from evalharness.statements import final_statement, last_line
from evalharness.suite import load_suite

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def mgsm():
    """exact_match with the extraction rules suites/mgsm.yaml gives it (as the runner builds it)."""
    task = load_suite(REPO / "suites" / "mgsm.yaml").tasks[0]
    return make_grader("exact_match", extractor=Extractor(task.extract, ExactMatch.default_strategies))


EGGS = "16 - 3 - 4 = 9 eggs are left. 9 × $2 = $18."
NATIVE = [  # (language, response, gold, expected extraction)
    ("en", f"Janet's ducks lay 16 eggs. She uses 3 + 4 = 7.\n{EGGS}\nThe answer is 18.", "18", "18"),
    ("en", f"{EGGS}\n\n**Answer:** $18", "18", "18"),
    ("en", f"{EGGS}\nSo she makes $\\boxed{{18}}$ dollars every day.", "18", "18"),
    ("en", "Step 1: 3 + 4 = 7\nStep 2: 16 - 7 = 9\n\n### Final Answer\n18", "18", "18"),
    ("de", "Janet hat 16 - 3 - 4 = 9 Eier übrig. 9 × 2 $ = 18 $.\nDie Antwort lautet 18.", "18", "18"),
    ("de", "Insgesamt: 1.250 + 875 = 2.125 Euro.\nAntwort: 2.125", "2125", "2125"),
    ("es", "Le quedan 16 - 3 - 4 = 9 huevos, y 9 × 2 = 18.\nLa respuesta es 18.", "18", "18"),
    ("es", "En total son 70.000 dólares.\nLa respuesta final es 70.000.", "70000", "70000"),
    ("fr", "Il reste 16 - 3 - 4 = 9 œufs, soit 9 × 2 = 18 $.\nLa réponse est 18.", "18", "18"),
    ("fr", "Le bénéfice est de 70\u202f000 $.\nRéponse : 70\u202f000 $", "70000", "70000"),
    ("ru", "Остаётся 16 − 3 − 4 = 9 яиц, 9 × 2 = 18 долларов.\nОтвет: 18.", "18", "18"),
    ("ru", "Прибыль: 70 000 долларов.\nОтвет: 70 000", "70000", "70000"),
    ("zh", "剩下 16 - 3 - 4 = 9 个鸡蛋，9 × 2 = 18 美元。\n答案是 18。", "18", "18"),
    ("zh", "所以她每天赚 18 美元。\n答案：18（每个鸡蛋 2 美元）", "18", "18"),
    ("ja", "残りは 16 - 3 - 4 = 9 個です。9 × 2 = 18 ドル。\n答えは 18 です。", "18", "18"),
    ("ja", "合計は１８ドルです。\n答え：１８", "18", "18"),
    ("th", "เหลือไข่ 16 - 3 - 4 = 9 ฟอง ขายได้ 9 × 2 = 18 ดอลลาร์\nคำตอบคือ 18", "18", "18"),
    ("th", "ขายได้ ๑๘ ดอลลาร์\nคำตอบ: ๑๘", "18", "18"),
    ("sw", "Mayai 16 - 3 - 4 = 9 yanabaki. 9 × 2 = 18.\nJibu ni 18.", "18", "18"),
    ("bn", "অবশিষ্ট ডিম 16 - 3 - 4 = 9টি। 9 × 2 = 18 ডলার।\nউত্তর হল 18।", "18", "18"),
    ("bn", "তিনি প্রতিদিন ১৮ ডলার উপার্জন করেন।\nউত্তর: ১৮", "18", "18"),
    ("te", "మిగిలిన గుడ్లు 16 - 3 - 4 = 9. 9 × 2 = 18 డాలర్లు.\nసమాధానం: 18", "18", "18"),
    ("te", "ఆమె రోజుకు 18 డాలర్లు సంపాదిస్తుంది.\nసమాధానం 18.", "18", "18"),
    ("te", "జవాబు: ౧౮", "18", "18"),
    ("sw", "Kwa hiyo, jibu la mwisho ni 18.", "18", "18"),
    ("th", "คำตอบสุดท้ายคือ 18 ดอลลาร์", "18", "18"),
    ("en", "16 - 3 - 4 = 9\n9 * 2 = 18\n#### 18", "18", "18"),
    ("en", "The total profit is $70{,}000$.\nThe answer is $70{,}000$.", "70000", "70000"),
]


@pytest.mark.parametrize("lang, response, gold, expected", NATIVE, ids=[f"{c[0]}-{i}" for i, c in enumerate(NATIVE)])
def test_mgsm_reads_the_final_number_in_every_language(mgsm, lang, response, gold, expected):
    grade = mgsm.grade_text(response, gold)
    assert grade.extracted == expected and grade.correct, (lang, grade)


@pytest.mark.parametrize("response, gold, expected", [
    # the statement wins over numbers written after it (a check, a unit price)
    ("The answer is 19.\n\nCheck: 16 - 3 - 4 = 9 eggs, 9 × 2 = 18.", "18", "19"),
    ("答案是 18。\n（共 9 个鸡蛋，每个 2 美元）", "18", "18"),
    # a computation in the statement: the number after its last "="
    ("**Answer:** 16 - 3 - 4 = 9; 9 × 2 = 18", "18", "18"),
    # a corrected statement: the last one counts
    ("The answer is 20.\nWait, she also eats 3. Die Antwort lautet 18.", "18", "18"),
    ("Antwort: 18 $ pro Tag (9 Eier)", "18", "18"),
    # exact comparison: no tolerance for integers, decimals only as exact values
    ("The answer is 1000001.", "1000000", "1000001"),
    ("The answer is 18.5.", "18", "18.5"),
    ("The answer is 18.00.", "18", "18.00"),
    # no statement: the last number is the fallback guess
    ("So she makes 9 × 2 = 18 dollars.", "18", "18"),
    ("The answer is not 12.\nIt is 18 in the end.", "18", "18"),
])
def test_mgsm_takes_the_final_statement_and_compares_exactly(mgsm, response, gold, expected):
    grade = mgsm.grade_text(response, gold)
    assert grade.extracted == expected
    assert grade.correct == (expected.rstrip("0").rstrip(".") == gold)


@pytest.mark.parametrize("response", ["I cannot solve this problem.", "", "答案是：不知道。"])
def test_mgsm_extraction_failures_are_none(mgsm, response):
    grade = mgsm.grade_text(response, "18")
    assert grade.extracted is None and not grade.correct


def test_fallback_none_turns_the_last_number_guess_into_a_failure():
    grader = make_grader("exact_match", extractor=Extractor(
        ExtractSpec(strategies=["final_number", "last_numeral"], fallback="none"), ExactMatch.default_strategies))
    assert grader.grade_text("So she makes 9 × 2 = 18 dollars.", "18").extracted is None
    assert grader.grade_text("Die Antwort lautet 18.", "18").correct


@pytest.mark.parametrize("text, expected", [
    ("(A) fails. (C) fails too.\nSo the answer is (D).", "(D)"),
    ("So the answer is (A).\n\nNote: (B) would be wrong.", "(A)"),
    ("The answer is (A)? Let me check.\n...\n**B**", "B"),
    ("First guess: the answer is (A).\nOn reflection:\n(C)", "(C)"),
    ("So the answer is not (A).\n**Answer:** (C)\nI hope it is correct.", "(C)"),
    ("So the answer is not (A).", None),
    ("Thus the argument is flawed. So the answer is not valid.", "not valid"),
    ("**Final Answer**\n\nYes", "Yes"),
    ("Answer:\n1. apple\n2. banana\n\nDone.", "1. apple 2. banana"),
    ("the answer is $\\boxed{\\text{(E)}}$", "(E)"),
    ("To answer this, count the pens: there are 4.", None),
    ("**Explanation:** it is (B).\n\n**Step 2:**", None),
])
def test_final_statement(text, expected):
    found = final_statement(text)
    assert (found[1] if found else None) == expected


def test_last_line_drops_markup():
    assert last_line("reasoning\n\n  **(D) kite**  \n\n") == (len("reasoning\n\n"), "(D) kite")
    assert last_line("   \n") is None


def test_every_statement_strategy_is_named_in_the_extraction_vocabulary():
    from evalharness.extract import strategy_names
    from evalharness.statements import STRATEGIES

    assert set(STRATEGIES) <= set(strategy_names())
    assert ExtractSpec(strategies=list(STRATEGIES)).resolved((), False) == tuple(STRATEGIES)

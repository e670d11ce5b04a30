"""BBH and MGSM end to end: `evalharness run` against the stub server answering the items the suites
really load, a known fraction right, in many answer styles (reasoning that names other options or the
right number before a wrong final answer, and the reverse), some with no answer at all. The reported
accuracy per subset and for the group must be the true fraction; failures must be extraction failures."""

import json
import re
from fractions import Fraction
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from evalharness.runner import RunOptions, build_jobs, load_suite_items
from evalharness.suite import load_suite

FAILURE = "Sorry, I cannot help with this request."


def prompts_of(suite_path: Path, limit: int, overrides=()):
    """(item, last user message) for the first `limit` items of every subset, as the runner builds them."""
    suite = load_suite(suite_path, overrides)
    items = load_suite_items(suite, RunOptions(limit=limit))
    return [(job.item, job.request.messages[-1]["content"]) for job in build_jobs(suite, items, {})]


def run_suite(tmp_path, server, suite_path, limit, *extra):
    proc = run_cli("run", str(suite_path), "--base-url", server.base_url, "--model", "phi-4-mini", "--limit",
                   str(limit), "--output-dir", str(tmp_path / "runs"), "--no-cache", "--no-report", "--no-progress",
                   *extra)
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    samples = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return json.loads((run_dir / "results.json").read_text()), samples


def check_family(results, samples, outcomes):
    """outcomes: item id -> (subset, "right" | "wrong" | "none"). Exact per-subset and group accuracy."""
    by_subset = {}
    for subset, outcome in outcomes.values():
        by_subset.setdefault(subset, []).append(outcome == "right")
    breakdown = results["breakdown"]["subset"]
    assert set(breakdown) == set(by_subset)
    for subset, verdicts in by_subset.items():
        assert breakdown[subset]["accuracy"] == sum(verdicts) / len(verdicts), subset
        assert breakdown[subset]["n"] == len(verdicts)
    macro = sum(Fraction(sum(v), len(v)) for v in by_subset.values()) / len(by_subset)
    right = sum(outcome == "right" for _, outcome in outcomes.values())
    metrics = results["metrics"]
    assert metrics["accuracy"]["value"] == pytest.approx(float(macro), abs=1e-12)  # the card's average: macro
    assert metrics["accuracy_macro"]["value"] == pytest.approx(float(macro), abs=1e-12)
    assert metrics["accuracy_micro"]["value"] == right / len(outcomes)
    assert results["errors"] == 0 and results["n"] == len(outcomes)
    for sample in samples:
        outcome = outcomes[sample["id"]][1]
        assert sample["correct"] == (outcome == "right"), sample
        assert (sample["extracted"] is None) == (outcome == "none"), sample  # failures apart from wrong answers


# ---- BBH ------------------------------------------------------------------------------------------------

BBH = REPO / "suites" / "bbh.yaml"


def bbh_reply(kind: str, gold: str, question: str, outcome: str, style: int) -> str:
    if outcome == "none":
        return FAILURE
    if kind == "choice":
        letters = re.findall(r"^\(([A-R])\)", question, re.MULTILINE)
        others = [letter for letter in letters if f"({letter})" != gold]
        said = gold[1] if outcome == "right" else others[0]
        mention = others[-1] if outcome == "right" else gold[1]  # reasoning names another letter first
        text = dict(re.findall(r"^\(([A-R])\)\s*(.+?)\s*$", question, re.MULTILINE))[said]
        unique = not any(t != text and (t in text or text in t) for t in
                         re.findall(r"^\([A-R]\)\s*(.+?)\s*$", question, re.MULTILINE)) and len(text) > 3
        styles = [f"Option ({mention}) looks plausible, but it fails. So does ({others[0]}).\nSo the answer is ({said}).",
                  f"({mention}) is wrong because of the order.\n\n**Answer:** ({said})",
                  f"Comparing ({mention}) with the others, only one fits.\nThe answer is {said}) {text}",
                  f"Checking ({mention}) first, then the rest.\n\n**{said}**",
                  f"The final choice is clear.\n\nFinal answer: $\\boxed{{{said}}}$",
                  f"({mention}) is ruled out.\nSo the answer is {text}." if unique else f"So the answer is ({said})."]
        return styles[style % len(styles)]
    if kind in ("true_false", "yes_no", "valid_invalid"):
        pair = {"true_false": ("True", "False"), "yes_no": ("Yes", "No"), "valid_invalid": ("valid", "invalid")}[kind]
        if gold.islower() and kind == "yes_no":
            pair = ("yes", "no")
        other = pair[1] if gold == pair[0] else pair[0]
        said, mention = (gold, other) if outcome == "right" else (other, gold)
        styles = [f"At first this looks like {mention}, but checking each step again changes that.\nSo the answer is {said}.",
                  f"Step by step the result follows.\n\n**Answer:** {said}",
                  f"Putting it together:\n\nFinal answer: $\\boxed{{{said}}}$",
                  f"Everything considered, it is settled.\n\n**{said}**"]
        return styles[style % len(styles)]
    if kind == "number":
        said = gold if outcome == "right" else str(int(gold) + 1)
        mention = str(int(gold) + 2) if outcome == "right" else gold
        styles = [f"A first count gives {mention}, but one item was counted twice.\nSo the answer is {said}.",
                  f"Working it out: the total is {said}.\n\n**Answer:** {said}",
                  f"So the result is\n\nFinal answer: $\\boxed{{{said}}}$"]
        return styles[style % len(styles)]
    if kind == "dyck":
        said = gold if outcome == "right" else gold + " )"
        styles = [f"We track the stack and close it from the top.\nSo the answer is {said}.",
                  f"Closing the open brackets in reverse order:\n\n**Answer:** `{said}`"]
        return styles[style % len(styles)]
    words = gold.split()
    said = words if outcome == "right" else (words[::-1] if len(words) > 1 else words * 2)
    styles = [f"Sorting by first letter, then the next.\nSo the answer is {' '.join(said)}.",
              "So the answer is:\n" + "\n".join(f"{i}. {w}" for i, w in enumerate(said, 1)),
              f"In order:\n\n**Answer:** {', '.join(said)}"]
    return styles[style % len(styles)]


def test_bbh_accuracy_per_task_and_group_is_the_true_fraction(tmp_path, stub_server, shared_data):
    suite = load_suite(BBH)
    kinds = {task.name: task.grader.options["answer"] for task in suite.tasks}
    replies, outcomes = {}, {}
    for item, question in prompts_of(BBH, 4):
        k = item.index
        outcome = "none" if k % 11 == 5 else ("right" if (k * 7) % 5 < 3 else "wrong")
        reply = bbh_reply(kinds[item.subset], item.gold, item.fields["input"], outcome, k)
        replies[question] = reply
        outcomes[item.id] = (item.subset, outcome)
    assert len(outcomes) == 27 * 4 and {o for _, o in outcomes.values()} == {"right", "wrong", "none"}
    stub_server.configure({"replies": replies})
    results, samples = run_suite(tmp_path, stub_server, BBH, 4)
    check_family(results, samples, outcomes)
    assert results["family"] == {"subsets": list(suite.subsets), "aggregate": "macro"}
    assert len(results["breakdown"]["subset"]) == 27


def test_bbh_3shot_variant_sends_the_papers_prompts(tmp_path, stub_server, shared_data):
    path = REPO / "suites" / "bbh_3shot.yaml"
    replies, outcomes = {}, {}
    for item, question in prompts_of(path, 1):
        assert question.count("A: Let's think step by step.") == 4 and question.endswith(
            f"Q: {item.fields['input']}\nA: Let's think step by step.")
        assert "canary" not in question and "-----" not in question
        replies[question] = f"Step by step it follows. So the answer is {item.gold}."
        outcomes[item.id] = (item.subset, "right")
    stub_server.configure({"replies": replies})
    results, samples = run_suite(tmp_path, stub_server, path, 1)
    check_family(results, samples, outcomes)


def test_bbh_3shot_without_the_prompt_files_is_a_one_line_error(tmp_path, stub_server):
    (tmp_path / "bbh" / "bbh").mkdir(parents=True)
    (tmp_path / "bbh" / "bbh" / "boolean_expressions.json").write_text(
        json.dumps({"canary": "x", "examples": [{"input": "True and False is", "target": "False"}]}))
    proc = run_cli("run", str(REPO / "suites" / "bbh_3shot.yaml"), "--base-url", stub_server.base_url, "--model",
                   "m", "--set", "subsets=[boolean_expressions]", "--output-dir", str(tmp_path / "runs"),
                   env={"EVALHARNESS_DATA_DIR": str(tmp_path)})
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "fields.cot_prompt: file not found:" in proc.stderr and "bbh/cot-prompts/boolean_expressions.txt" in proc.stderr


# ---- MGSM -----------------------------------------------------------------------------------------------

MGSM = REPO / "suites" / "mgsm.yaml"
PHRASES = {"en": "The answer is {}.", "de": "Die Antwort lautet {}.", "es": "La respuesta es {}.",
           "fr": "La réponse est {}.", "ru": "Ответ: {}.", "zh": "答案是 {}。", "ja": "答えは {} です。",
           "th": "คำตอบคือ {}", "sw": "Jibu ni {}.", "bn": "উত্তর হল {}।", "te": "సమాధానం: {}"}
DIGITS = {"bn": "০১২৩৪৫৬৭৮৯", "te": "౦౧౨౩౪౫౬౭౮౯", "th": "๐๑๒๓๔๕๖๗๘๙", "ja": "０１２３４５６７８９", "zh": "０１２３４５６７８９"}
GROUPING = {"de": ".", "es": ".", "fr": "\u202f", "ru": "\u00a0"}


def written(number: int, lang: str, style: int) -> str:
    """`number` as a model answering in `lang` may write it: local grouping, native digits on odd styles."""
    text = f"{number:,}".replace(",", GROUPING.get(lang, ","))
    if lang in DIGITS and style % 2:
        text = "".join(DIGITS[lang][int(ch)] if ch.isdigit() else ch for ch in text)
    return text


def mgsm_reply(lang: str, gold: int, outcome: str, style: int) -> str:
    if outcome == "none":
        return FAILURE
    said = gold if outcome == "right" else gold + 1
    mention = gold + 10 if outcome == "right" else gold  # reasoning reaches another number first
    native = PHRASES[lang].format(written(said, lang, style))
    styles = [f"First I get {mention}, but I forgot a step. Redoing it: 2 × 3 = 6.\n{native}",
              f"Step 1: 4 + 5 = 9.\nStep 2: 9 × 2 = 18.\n\n**Answer:** {written(said, lang, style)}",
              f"{native}\n\n(Check: 7 × 2 = 14 per day.)",
              f"So the total is $\\boxed{{{said}}}$.",
              f"Calculating: {mention} - 10 + 10.\n{PHRASES['en'].format(written(said, 'en', 0))}",
              f"{PHRASES['en'].format(mention)} Wait, that counts the eggs she eats too.\n\n{native}"]
    return styles[style % len(styles)]


def test_mgsm_accuracy_per_language_and_group_is_the_true_fraction(tmp_path, stub_server, shared_data):
    replies, outcomes = {}, {}
    for item, question in prompts_of(MGSM, 4):
        k = item.index
        outcome = "none" if k % 13 == 6 else ("right" if (k * 5) % 7 < 4 else "wrong")
        if int(item.gold) >= 1000:  # thousands written the local way: right in all but one language
            outcome = "wrong" if item.subset == "sw" else "right"
        replies[question] = mgsm_reply(item.subset, int(item.gold), outcome, k)
        outcomes[item.id] = (item.subset, outcome)
    assert len(outcomes) == 44 and any(int(i.gold) >= 1000 for i, _ in prompts_of(MGSM, 4))
    stub_server.configure({"replies": replies})
    results, samples = run_suite(tmp_path, stub_server, MGSM, 4)
    check_family(results, samples, outcomes)
    assert list(results["breakdown"]["subset"]) == sorted(PHRASES)


def test_every_bbh_target_in_every_style_grades_right_and_others_wrong(shared_data):
    """All 6,511 targets, stated in five styles, through the grader each subset really gets."""
    from evalharness.chat import ChatResponse
    from evalharness.graders import Exchange
    from evalharness.runner import SuiteRun

    suite = load_suite(BBH)
    graders = {task.name: run.graders[0] for task, run in zip(suite.tasks, SuiteRun(suite, None, None, RunOptions()).tasks)}
    items = load_suite_items(suite, RunOptions())
    assert len(items) == 6511
    golds = {}
    for item in items:
        golds.setdefault(item.subset, set()).add(item.gold)
    for item in items:
        grader = graders[item.subset]
        styles = ["So the answer is {}.", "**Answer:** {}", "Some (A) and (B) and True, No, 3.\n\n**{}**",
                  "Final answer: {}", "The answer is: `{}`"]
        for style in styles:
            exchange = Exchange(item, [], ChatResponse(content=style.format(item.gold)))
            assert grader.grade(exchange).correct, (item.id, style)
        other = sorted(golds[item.subset] - {item.gold})[item.index % (len(golds[item.subset]) - 1)]
        exchange = Exchange(item, [], ChatResponse(content=f"So the answer is {other}."))
        assert not grader.grade(exchange).correct, (item.id, other)


@pytest.mark.parametrize("suite_name, rows", [
    ("mgsm.yaml", [{"question": "Q?", "answer": None, "answer_number": 2125, "equation_solution": None}]),
    ("bbh.yaml", [{"input": "not True is", "target": "False"}]),
])
def test_hub_shaped_rows_map_like_the_local_files(tmp_path, monkeypatch, suite_name, rows):
    """The hub path (`datasets.load_dataset`, offline): a local folder with one config per subset and the
    hub's columns stands in for juletxara/mgsm and lukaemon/bbh."""
    suite = load_suite(REPO / "suites" / suite_name)
    configs = []
    for name in suite.subsets:
        (tmp_path / "hub" / name).mkdir(parents=True)
        (tmp_path / "hub" / name / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
        configs.append(f"- config_name: {name}\n  data_files:\n  - split: test\n    path: {name}/test.jsonl")
    (tmp_path / "hub" / "README.md").write_text("---\nconfigs:\n" + "\n".join(configs) + "\n---\n")
    for var, value in (("HF_DATASETS_OFFLINE", "1"), ("HF_HUB_OFFLINE", "1"), ("HF_HOME", str(tmp_path / "hf"))):
        monkeypatch.setenv(var, value)
    monkeypatch.delenv("EVALHARNESS_DATA_DIR", raising=False)
    suite = load_suite(REPO / "suites" / suite_name, [f"dataset.hf.path={tmp_path / 'hub'}"])
    items = load_suite_items(suite, RunOptions(limit=1))
    assert len(items) == len(suite.subsets)
    assert {item.gold for item in items} == ({"2125"} if suite_name == "mgsm.yaml" else {"False"})

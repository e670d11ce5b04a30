"""Suite validation: every mistake names the file, the field and what was expected."""

from pathlib import Path

import pytest

from evalharness.errors import UserError
from evalharness.suite import load_suite, parse_suite

REPO = Path(__file__).resolve().parents[1]

MINIMAL = {
    "name": "t",
    "description": "test suite",
    "dataset": {"local": "x/test.jsonl"},
    "fields": {"question": "q", "gold": "a"},
    "prompt": {"template": "{question}"},
    "grader": "exact_match",
}


def suite_with(**changes):
    data = {**MINIMAL, **changes}
    return parse_suite(data, source=Path("suites/t.yaml"))


def error_of(**changes) -> str:
    with pytest.raises(UserError) as info:
        suite_with(**changes)
    message = str(info.value)
    assert message.startswith("suites/t.yaml: ") and "\n" not in message
    return message


@pytest.mark.parametrize("path", sorted((REPO / "suites").glob("*.yaml")), ids=lambda p: p.name)
def test_shipped_suites_are_valid(path):
    suite = load_suite(path)
    assert suite.name and suite.description and suite.fields


def test_minimal_suite_defaults():
    suite = suite_with()
    assert suite.metrics == ("accuracy",) and suite.samples_per_item == 1 and suite.grader.name == "exact_match"


def test_gsm8k_suite_matches_model_card_setting():
    suite = load_suite(REPO / "suites" / "gsm8k.yaml")
    assert suite.prompt.fewshot.count == 8 and suite.prompt.fewshot.multiturn
    assert suite.prompt.fewshot.dataset.local == "gsm8k/train.jsonl"
    assert suite.generation["temperature"] == 0


@pytest.mark.parametrize("changes, expected", [
    ({"promt": {"template": "x"}}, "suite.promt: unknown field"),
    ({"generation": {"temperature": "hot"}}, "generation.temperature: expected a int/float, got 'hot'"),
    ({"generation": {"max_token": 5}}, "generation.max_token: unknown field"),
    ({"prompt": {"template": "x", "fewshot": {"count": "eight"}}}, "prompt.fewshot.count: expected an integer"),
    ({"fields": {"q": {"column": "a", "ops": ["upper"]}}}, "fields.q.ops[0]: expected one of"),
    ({"fields": {"q": {"column": "a", "ops": [{"regex": "("}]}}}, "a valid regular expression"),
    ({"metrics": ["pass@5"]}, "metrics: pass@5 needs generation.n >= 5"),
    ({"metrics": ["f1"]}, "metrics: expected accuracy or pass@K"),
    ({"breakdown": ["subject"]}, "breakdown: 'subject' is not one of the suite's fields"),
    ({"dataset": {"format": "jsonl"}}, "dataset: needs at least one of hf, local or path"),
    ({"name": "bad name!"}, "name: expected letters, digits"),
])
def test_errors_name_field_and_expectation(changes, expected):
    assert expected in error_of(**changes)


def test_missing_required_field():
    data = dict(MINIMAL)
    del data["grader"]
    with pytest.raises(UserError, match=r"suite.grader: missing required field"):
        parse_suite(data, source=Path("suites/t.yaml"))


def test_yaml_syntax_error_names_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nfields: [unclosed\n")
    with pytest.raises(UserError, match=r"bad.yaml: not valid YAML at line \d+"):
        load_suite(bad)


def test_missing_suite_file():
    with pytest.raises(UserError, match="suite file not found"):
        load_suite("suites/nope.yaml")

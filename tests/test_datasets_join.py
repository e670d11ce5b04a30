"""`dataset.join` (a second file joined 1:1 by a key column), `hf.file` (one raw file of a hub repository,
read through the real huggingface_hub download code from an offline cache), and list positions in dotted
columns: what suites/bfcl.yaml needs to read BFCL's questions and answers."""

import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from evalharness.datasets import load_items, load_rows
from evalharness.errors import UserError
from evalharness.suite import DatasetSpec, FieldSpec, parse_suite
from evalharness.suite_schema import JoinSpec

QUESTIONS = [{"id": "q_0", "question": [[{"role": "user", "content": "Weather in Paris?"}]], "function": ["f"]},
             {"id": "q_1", "question": [[{"role": "user", "content": "Weather in Oslo?"}]], "function": ["f"]}]
ANSWERS = [{"id": "q_1", "ground_truth": [{"f": {"city": ["Oslo"]}}]},
           {"id": "q_0", "ground_truth": [{"f": {"city": ["Paris"]}}]}]
FIELDS = {"id": FieldSpec("id"), "question": FieldSpec("question.0.0.content"), "gold": FieldSpec("ground_truth")}


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in rows))  # no final newline, like BFCL's files
    return path


def spec(tmp_path, answers=ANSWERS, **join) -> DatasetSpec:
    questions = write_jsonl(tmp_path / "q.json", QUESTIONS)
    other = write_jsonl(tmp_path / "a.json", answers)
    return DatasetSpec(path=questions, join=JoinSpec(source=DatasetSpec(path=other), **join))


def test_join_adds_the_partner_rows_columns_by_key_in_any_order(tmp_path):
    items = load_items(spec(tmp_path), FIELDS)
    assert [(i.id, i.fields["question"], i.gold) for i in items] == [
        ("q_0", "Weather in Paris?", [{"f": {"city": ["Paris"]}}]),
        ("q_1", "Weather in Oslo?", [{"f": {"city": ["Oslo"]}}])]
    nested = load_rows(spec(tmp_path, into="answer"))
    assert nested[1]["answer"] == ANSWERS[0] and "ground_truth" not in nested[1]


@pytest.mark.parametrize("answers, join, message", [
    ([ANSWERS[0], {**ANSWERS[1], "id": "q_9"}], {}, "no row of the join file has id 'q_0'"),
    (ANSWERS + [ANSWERS[0]], {}, "id 'q_1' appears twice in the join file"),
    ([{**a, "function": 1} for a in ANSWERS], {}, "both files have a column 'function'; set dataset.join.into"),
    ([{"ident": "q_0"}, {"ident": "q_1"}], {"key": "ident"}, "dataset row 0 has no column 'ident'"),
    (ANSWERS, {"into": "question"}, "into: the dataset already has a column 'question'"),
])
def test_join_mistakes_are_one_line_errors(tmp_path, answers, join, message):
    with pytest.raises(UserError) as err:
        load_rows(spec(tmp_path, answers, **join), source="suites/x.yaml")
    assert message in str(err.value) and "\n" not in str(err.value)
    assert str(err.value).startswith("suites/x.yaml: dataset.join")


def test_a_dotted_column_past_the_end_of_a_list_names_the_column(tmp_path):
    with pytest.raises(UserError) as err:
        load_items(spec(tmp_path), {"question": FieldSpec("question.0.3.content")})
    assert "column 'question.0.3.content' not in dataset row 0" in str(err.value)


def test_the_suite_schema_types_join_and_a_subset_may_drop_it(tmp_path):
    write_jsonl(tmp_path / "q.json", QUESTIONS)
    write_jsonl(tmp_path / "a.json", ANSWERS)
    suite = parse_suite({
        "name": "j", "description": "j", "dataset": {"path": "q.json", "join": {"path": "a.json"}},
        "fields": {"id": "id", "question": "question.0.0.content", "gold": "ground_truth"},
        "prompt": {"template": "{question}"}, "grader": "exact_match",
        "subsets": {"with": {}, "without": {"dataset": {"join": None}, "fields": {"gold": {"value": []}}}},
    }, source=tmp_path / "j.yaml")
    joined, plain = suite.tasks
    assert joined.dataset.join.key == "id" and joined.dataset.join.source.path == tmp_path / "a.json"
    assert plain.dataset.join is None
    with pytest.raises(UserError) as err:
        parse_suite({"name": "j", "description": "j", "dataset": {"path": "q.json", "join": {"key": "id"}},
                     "fields": {"q": "q"}, "prompt": {"template": "{q}"}, "grader": "exact_match"}, source="s.yaml")
    assert str(err.value) == "s.yaml: dataset.join: needs at least one of hf, local or path"


def fake_hub_cache(root: Path, repo: str, files: dict[str, str]) -> None:
    """A Hugging Face cache holding one dataset repository snapshot, as huggingface_hub lays it out."""
    folder = root / ("datasets--" + repo.replace("/", "--"))
    snapshot = folder / "snapshots" / ("0" * 40)
    for name, text in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_text(text)
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("0" * 40)


def test_a_hub_file_is_read_through_huggingface_hub_from_its_cache(tmp_path, monkeypatch):
    from huggingface_hub import constants

    fake_hub_cache(tmp_path / "hub", "org/raw", {"data/q.json": "\n".join(json.dumps(r) for r in QUESTIONS)})
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("EVALHARNESS_DATA_DIR", raising=False)
    rows = load_rows(DatasetSpec(hf_path="org/raw", hf_file="data/q.json", local="bfcl/q.json"))
    assert [r["id"] for r in rows] == ["q_0", "q_1"]
    with pytest.raises(UserError) as err:
        load_rows(DatasetSpec(hf_path="org/raw", hf_file="data/missing.json", local="bfcl/q.json"), source="s.yaml")
    message = str(err.value)
    assert message.startswith("s.yaml: dataset not found; tried $EVALHARNESS_DATA_DIR/bfcl/q.json")
    assert "Hugging Face hub org/raw file data/missing.json" in message and "\n" not in message


def test_bfcl_suite_reads_the_hubs_v3_files_when_no_data_folder_is_set(tmp_path, stub_server, shared_data):
    """Without $EVALHARNESS_DATA_DIR the suite takes the hub's files (v3 names, `simple` for simple_python),
    answers joined from possible_answer/; here from an offline cache holding the first rows of each file."""
    files = {}
    for category in ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance"):
        hub_name = "simple" if category == "simple_python" else category
        lines = (shared_data / "bfcl" / f"BFCL_v4_{category}.json").read_text().splitlines()[:2]
        files[f"BFCL_v3_{hub_name}.json"] = "\n".join(lines)
        if category != "irrelevance":
            answers = (shared_data / "bfcl" / "possible_answer" / f"BFCL_v4_{category}.json").read_text()
            files[f"possible_answer/BFCL_v3_{hub_name}.json"] = "\n".join(answers.splitlines()[:2])
    fake_hub_cache(tmp_path / "hub", "gorilla-llm/Berkeley-Function-Calling-Leaderboard", files)
    stub_server.configure({"default_reply": "No call."})
    proc = run_cli("run", str(REPO / "suites" / "bfcl.yaml"), "--base-url", stub_server.base_url, "--model", "m",
                   "--no-cache", "--no-report", "--no-progress", "--output-dir", str(tmp_path / "runs"),
                   env={"EVALHARNESS_DATA_DIR": "", "HF_HUB_CACHE": str(tmp_path / "hub"), "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr
    results = json.loads((Path(proc.stdout.strip().splitlines()[-1]) / "results.json").read_text())
    subsets = results["breakdown"]["subset"]
    assert results["n"] == 10 and all(subsets[c]["n"] == 2 for c in subsets)
    assert subsets["irrelevance"]["accuracy"] == 1.0 and subsets["simple_python"]["accuracy"] == 0.0
    assert results["failure_reasons"] == {"wrong_count": 8}

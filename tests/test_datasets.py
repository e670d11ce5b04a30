"""Dataset formats, field ops and the resolution order (--data, suite path, data dir, hub)."""

import gzip
import json
from pathlib import Path

import pytest

from evalharness.datasets import load_items, read_file
from evalharness.errors import UserError
from evalharness.suite import DatasetSpec, FieldSpec, parse_suite

ROWS = [{"q": "one", "a": "#### 1,000"}, {"q": "two", "a": "#### 2"}]
FIELDS = {"question": FieldSpec("q"), "gold": FieldSpec("a", ({"after": "####"}, "strip", "remove_commas"))}


def test_formats(tmp_path):
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS) + "\n")
    (tmp_path / "b.json").write_text(json.dumps(ROWS))
    (tmp_path / "c.json").write_text(json.dumps({"examples": ROWS}))
    (tmp_path / "d.json").write_text("\n".join(json.dumps(r) for r in ROWS))  # JSON Lines named .json
    (tmp_path / "e.csv").write_text("q,a\none,#### 1\ntwo,#### 2\n")
    (tmp_path / "f.tsv").write_text("one\t1\ntwo\t2\n")
    (tmp_path / "g.jsonl.gz").write_bytes(gzip.compress((json.dumps(ROWS[0]) + "\n").encode()))
    assert read_file(tmp_path / "a.jsonl") == ROWS
    assert read_file(tmp_path / "b.json") == ROWS
    assert read_file(tmp_path / "c.json", DatasetSpec(local="c.json", records="examples")) == ROWS
    assert read_file(tmp_path / "d.json") == ROWS
    assert read_file(tmp_path / "e.csv")[1] == {"q": "two", "a": "#### 2"}
    assert read_file(tmp_path / "f.tsv", DatasetSpec(local="f.tsv", columns=("q", "a")))[0] == {"q": "one", "a": "1"}
    assert read_file(tmp_path / "g.jsonl.gz") == ROWS[:1]


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "x.parquet")
    items = load_items(DatasetSpec(local="x.parquet"), FIELDS, data_file=tmp_path / "x.parquet")
    assert [i.gold for i in items] == ["1000", "2"]


def test_field_ops_and_limit(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in ROWS))
    items = load_items(DatasetSpec(local="a.jsonl"), FIELDS, data_file=path, limit=1)
    assert len(items) == 1 and items[0].gold == "1000" and items[0].id == "0"
    assert items[0].fields["question"] == "one"


def test_resolution_order(tmp_path, monkeypatch):
    data_dir = tmp_path / "data"
    (data_dir / "x").mkdir(parents=True)
    (data_dir / "x" / "test.jsonl").write_text(json.dumps({"q": "from data dir", "a": "1"}))
    explicit = tmp_path / "mine.jsonl"
    explicit.write_text(json.dumps({"q": "from --data", "a": "1"}))
    spec = DatasetSpec(local="x/test.jsonl", hf_path="nobody/nothing")
    monkeypatch.setenv("EVALHARNESS_DATA_DIR", str(data_dir))
    assert load_items(spec, FIELDS)[0].fields["question"] == "from data dir"
    assert load_items(spec, FIELDS, data_file=explicit)[0].fields["question"] == "from --data"


def test_missing_dataset_names_every_place_tried(tmp_path, monkeypatch):
    monkeypatch.setenv("EVALHARNESS_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    spec = DatasetSpec(local="gsm8k/test.jsonl", hf_path="openai/gsm8k", hf_name="main")
    with pytest.raises(UserError) as info:
        load_items(spec, FIELDS, source="suites/gsm8k.yaml")
    message = str(info.value)
    assert "\n" not in message
    assert f"{tmp_path}/gsm8k/test.jsonl (missing)" in message
    assert "Hugging Face hub openai/gsm8k (main) split test" in message
    assert "EVALHARNESS_DATA_DIR" in message


def test_missing_column_is_a_user_error(tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps({"q": "x"}))
    with pytest.raises(UserError, match=r"fields.gold: column 'a' not in dataset row 0 \(columns: q\)"):
        load_items(DatasetSpec(local="a.jsonl"), FIELDS, data_file=path)


def test_shared_gsm8k_gold_and_solution(shared_data):
    suite = parse_suite(__import__("yaml").safe_load(
        (Path(__file__).resolve().parents[1] / "suites" / "gsm8k.yaml").read_text()), source=Path("suites/gsm8k.yaml"))
    items = load_items(suite.dataset, suite.fields)
    assert len(items) == 1319
    assert items[0].gold == "18"
    assert "<<" not in items[0].fields["solution"] and "####" not in items[0].fields["solution"]
    assert all(i.gold.lstrip("-").replace(".", "").isdigit() for i in items)


def test_hub_loader_through_the_datasets_library(tmp_path, monkeypatch):
    """The real `datasets.load_dataset` path, offline: a local dataset folder stands in for a hub id."""
    folder = tmp_path / "my_dataset"
    folder.mkdir()
    (folder / "test.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("EVALHARNESS_DATA_DIR", raising=False)
    items = load_items(DatasetSpec(hf_path=str(folder), hf_split="test", local="x/test.jsonl"), FIELDS)
    assert [i.gold for i in items] == ["1000", "2"]


def test_field_from_a_text_file(tmp_path, monkeypatch):
    """`{file: PATH}`: a constant read from $EVALHARNESS_DATA_DIR/PATH (or an absolute path), ops applied."""
    (tmp_path / "data.jsonl").write_text("\n".join(json.dumps(r) for r in ROWS))
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "p.txt").write_text("canary line\n-----\nSolve these.\n\nQ: 1+1\nA: 2\n")
    fields = {**FIELDS, "shots": FieldSpec("", ({"after": "-----"}, "strip"), file="prompts/p.txt")}
    spec = DatasetSpec(path=tmp_path / "data.jsonl")
    monkeypatch.setenv("EVALHARNESS_DATA_DIR", str(tmp_path))
    items = load_items(spec, fields)
    assert [i.fields["shots"] for i in items] == ["Solve these.\n\nQ: 1+1\nA: 2"] * 2
    absolute = {"shots": FieldSpec("", file=str(tmp_path / "prompts" / "p.txt"))}
    assert load_items(spec, absolute)[0].fields["shots"].startswith("canary line")
    with pytest.raises(UserError, match=r"fields.shots: file not found: .*prompts/missing.txt"):
        load_items(spec, {"shots": FieldSpec("", file="prompts/missing.txt")})
    monkeypatch.delenv("EVALHARNESS_DATA_DIR")
    with pytest.raises(UserError, match=r"fields.shots: needs \$EVALHARNESS_DATA_DIR/prompts/p.txt, but "):
        load_items(spec, {"shots": FieldSpec("", file="prompts/p.txt")})


def test_field_needs_exactly_one_source(tmp_path):
    suite = {"name": "t", "description": "d", "dataset": {"local": "x.jsonl"}, "prompt": {"template": "{q}"},
             "grader": "exact_match", "fields": {"q": {"column": "q", "file": "p.txt"}}}
    with pytest.raises(UserError, match=r"fields.q: expected exactly one of column .* or file"):
        parse_suite(suite, source=tmp_path / "t.yaml")

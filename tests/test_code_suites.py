"""The code suites agree with the grader: every mapped column exists in the local data, every template
placeholder is a mapped field, and items mapped as the suite says grade their reference code as passed.
(Field mapping here is the plain rename the suites use, plus `join` for MBPP's prompt-only `tests` field.)"""

from __future__ import annotations

import gzip
import json
import re
from pathlib import Path

import pytest
import yaml

from evalharness.graders.code_exec import CodeExec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / ".." / "shared" / "data"
SUITES = ["humaneval", "humaneval_sampled", "humaneval_plus", "mbpp"]
REFERENCE = {"humaneval": lambda r: r["prompt"] + r["canonical_solution"], "mbpp": lambda r: r["code"]}


def load_rows(local: str) -> list[dict]:
    path = DATA / local
    if local.endswith(".jsonl.gz"):
        with gzip.open(path, "rt") as f:
            return [json.loads(line) for line in f]
    return json.loads(path.read_text())


def map_row(fields: dict, row: dict) -> dict:
    item = {}
    for name, spec in fields.items():
        if isinstance(spec, str):
            item[name] = row[spec]
        else:
            assert [list(op) for op in spec["ops"]] == [["join"]], spec
            item[name] = spec["ops"][0]["join"].join(row[spec["column"]])
    return item


@pytest.fixture(scope="module")
def grader():
    g = CodeExec(timeout_s=30, workers=2)
    yield g
    g.close()


@pytest.mark.parametrize("name", SUITES)
def test_suite_fields_template_and_reference_code(name, grader):
    suite = yaml.safe_load((ROOT / "suites" / f"{name}.yaml").read_text())
    assert suite["name"] == name and suite["metrics"][0] == "pass@1"
    assert suite["grader"]["name"] == "code_exec"
    fields = suite["fields"]
    placeholders = set(re.findall(r"\{(\w+)\}", suite["prompt"]["template"]))
    assert placeholders <= set(fields), placeholders - set(fields)
    if not (DATA / suite["dataset"]["local"]).exists():
        pytest.skip("../shared/data not present")
    rows = load_rows(suite["dataset"]["local"])
    assert len(rows) == {"mbpp": 427}.get(name, 164)
    sample = rows[::20]
    items = [map_row(fields, row) for row in sample]
    reference = REFERENCE["mbpp" if name == "mbpp" else "humaneval"]
    grades = grader.grade_many([(f"```python\n{reference(row)}\n```", None, item) for row, item in zip(sample, items)])
    assert [g.details for g in grades if not g.correct] == []
    if "generation" in suite and suite["generation"].get("n", 1) > 1:
        ks = [int(m.split("@")[1]) for m in suite["metrics"]]
        assert max(ks) <= suite["generation"]["n"] and suite["generation"]["temperature"] > 0

"""Typed configuration: profiles, provider options and grader options are checked when they load (one line
naming the file and dotted field, before any request); JSON Schema for editors; graders pickle."""

import json
import pickle

import pytest

from conftest import REPO, run_cli
from evalharness.config import load_profile, make_provider, resolve_endpoint
from evalharness.errors import UserError
from evalharness.graders import Exchange, make_grader

SUITE = REPO / "suites" / "quickstart.yaml"


def one_line_error(proc) -> str:
    assert proc.returncode == 1, proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    return lines[0]


@pytest.mark.parametrize("profile, expected", [
    ("base_url: http://127.0.0.1:9/v1\nmodel: m\nconcurrency: sixteen\n", "p.yaml: concurrency: expected an integer, got 'sixteen'"),
    ("base_url: http://127.0.0.1:9/v1\nmodel: m\ntimeout_s: soon\n", "p.yaml: timeout_s: expected a int/float, got 'soon'"),
    ("base_url: http://127.0.0.1:9/v1\nmodel: m\noptions: {extra_bdy: {}}\n",
     "options.extra_bdy: unknown setting of provider openai; allowed here: auth_header, extra_body"),
    ("base_url: http://127.0.0.1:9/v1\nmodel: m\noptions: {stream: maybe}\n", "options.stream: expected true or false, got 'maybe'"),
    ("provider: llamacpp\noptions: {n_ctx: big}\n", "options.n_ctx: expected an integer, got 'big'"),
])
def test_profile_mistakes_are_one_line_before_any_request(tmp_path, profile, expected):
    (tmp_path / "p.yaml").write_text(profile)
    proc = run_cli("run", str(SUITE), "--config", str(tmp_path / "p.yaml"), "--output-dir", str(tmp_path / "runs"))
    assert expected in one_line_error(proc)
    assert not (tmp_path / "runs").exists()


def test_options_block_and_older_top_level_spelling_mean_the_same(tmp_path):
    (tmp_path / "new.yaml").write_text("base_url: http://a/v1\nmodel: m\noptions: {extra_body: {top_k: 0}}\n")
    (tmp_path / "old.yaml").write_text("base_url: http://a/v1\nmodel: m\nextra_body: {top_k: 0}\n")
    new = make_provider(resolve_endpoint(load_profile(tmp_path / "new.yaml"), {}))
    old = make_provider(resolve_endpoint(load_profile(tmp_path / "old.yaml"), {}))
    assert new.identity() == old.identity() == {"base_url": "http://a/v1", "model": "m", "extra_body": {"top_k": 0}}


def test_model_path_flag_selects_the_local_provider_over_a_profile(tmp_path):
    (tmp_path / "p.yaml").write_text("provider: openai\nbase_url: http://a/v1\nmodel: m\noptions: {stream: true}\n")
    config = resolve_endpoint(load_profile(tmp_path / "p.yaml"), {"provider": "llamacpp",
                                                                  "options": {"model_path": "x.gguf"}})
    assert config.provider == "llamacpp" and config.options == {"model_path": "x.gguf"}


def test_grader_option_types_are_checked():
    with pytest.raises(UserError, match=r"grader math_equiv: options.timeout_s: expected a int/float, got 'fast'"):
        make_grader("math_equiv", {"timeout_s": "fast"})
    with pytest.raises(UserError, match=r"options.timeout_s: expected a int/float > 0.0, got 0"):
        make_grader("math_equiv", {"timeout_s": 0})
    with pytest.raises(UserError, match=r"code_exec: options.memory: unknown field; allowed here: .*memory_mb"):
        make_grader("code_exec", {"memory": 5})


def test_suite_grader_option_error_names_the_field(tmp_path):
    text = SUITE.read_text().replace("grader: exact_match", "grader: {name: math_equiv, timeout_s: -1}")
    (tmp_path / "s.yaml").write_text(text)
    proc = run_cli("run", str(tmp_path / "s.yaml"), "--base-url", "http://127.0.0.1:9/v1", "--model", "m")
    assert "s.yaml: grader.timeout_s: expected a int/float > 0.0, got -1" in one_line_error(proc)


def test_schema_command_matches_the_committed_schemas():
    for kind in ("suite", "profile"):
        proc = run_cli("schema", kind)
        assert proc.returncode == 0, proc.stderr
        printed = json.loads(proc.stdout)
        committed = json.loads((REPO / "docs" / "schema" / f"{kind}.schema.json").read_text())
        assert printed == committed, f"docs/schema/{kind}.schema.json is stale: run evalharness schema {kind}"
    suite = json.loads(run_cli("schema", "suite").stdout)["$defs"]["Suite"]
    assert {"dataset", "fields", "prompt", "grader", "subsets", "include", "aggregate"} <= set(suite["properties"])
    assert suite["additionalProperties"] is False


def test_shipped_files_point_editors_at_the_schema():
    for folder, kind in (("suites", "suite"), ("configs", "profile")):
        for path in (REPO / folder).glob("*.yaml"):
            first = path.read_text().splitlines()[0]
            assert first == f"# yaml-language-server: $schema=../docs/schema/{kind}.schema.json", path


def test_graders_and_exchanges_pickle():
    grader = make_grader("exact_match", {"extract": {"patterns": [r"ANS=(\d+)"]}})
    copy = pickle.loads(pickle.dumps(grader))
    exchange = pickle.loads(pickle.dumps(Exchange.of_text("ANS=5. The answer is 7.", "5")))
    assert copy.grade(exchange).correct and copy.grade(exchange).extracted == "5"
    math = pickle.loads(pickle.dumps(make_grader("math_equiv", {"timeout_s": 2})))
    try:
        assert math.options.timeout_s == 2.0 and math.grade(Exchange.of_text(r"\boxed{\frac12}", "0.5")).correct
    finally:
        math.close()

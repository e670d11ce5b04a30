"""docs/extending.md's examples work as written: a grader, a provider and a solver, one file each
(tests/examples/), named by path from a suite or profile, with typed options checked before any request."""

import json
from pathlib import Path

from conftest import run_cli

EXAMPLES = Path(__file__).with_name("examples")
QUESTIONS = [{"q": f"What is {a} + {b}?", "a": str(a + b)} for a, b in [(1, 2), (3, 4), (10, 5), (7, 7), (20, 22),
                                                                        (8, 1)]]


def write_suite(tmp_path: Path, grader: str = "exact_match", extra: str = "") -> Path:
    (tmp_path / "items.jsonl").write_text("\n".join(json.dumps(q) for q in QUESTIONS) + "\n")
    suite = tmp_path / "add.yaml"
    suite.write_text("name: add\ndescription: sums\ndataset: {path: items.jsonl}\n"
                     "fields: {question: q, gold: a}\nprompt: {template: '{question}'}\n"
                     f"grader: {grader}\n{extra}")
    return suite


def write_profile(tmp_path: Path, options: str = "{}") -> Path:
    profile = tmp_path / "adder.yaml"
    profile.write_text(f"provider: {EXAMPLES / 'toy_provider.py'}:Adder\noptions: {options}\n")
    return profile


def results(proc) -> tuple[Path, dict, list[dict]]:
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    rows = [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]
    return run_dir, json.loads((run_dir / "results.json").read_text()), rows


def run(tmp_path, suite, profile, *extra):
    return run_cli("run", str(suite), "--config", str(profile), "--output-dir", str(tmp_path / "runs"),
                   "--cache", str(tmp_path / "cache.sqlite"), "--no-report", "--no-progress", *extra)


def test_toy_provider_from_a_profile_answers_and_is_graded(tmp_path):
    suite = write_suite(tmp_path)
    _, res, rows = results(run(tmp_path, suite, write_profile(tmp_path, "{wrong_every: 3}"), "--concurrency", "1"))
    assert res["provider"] == "adder" and res["n"] == 6
    assert res["metrics"]["accuracy"]["value"] == 4 / 6  # requests 3 and 6 answered wrong on purpose
    assert sum(not r["correct"] for r in rows) == 2


def test_toy_provider_options_are_checked(tmp_path):
    proc = run(tmp_path, write_suite(tmp_path), write_profile(tmp_path, "{wrong_evry: 3}"))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "options.wrong_evry: unknown setting" in proc.stderr and "Traceback" not in proc.stderr


def test_toy_grader_by_path_with_typed_options(tmp_path, stub_server):
    grader = f"{{name: '{EXAMPLES / 'toy_grader.py'}:Contains', case_sensitive: true}}"
    suite = write_suite(tmp_path, grader)
    stub_server.configure({"contains": [["1 + 2", "THREE is 3"], ["3 + 4", "seven"]], "default_reply": "no idea"})
    proc = run_cli("run", str(suite), "--base-url", stub_server.base_url, "--model", "m", "--no-cache",
                   "--output-dir", str(tmp_path / "runs"), "--no-report", "--no-progress")
    _, res, rows = results(proc)
    assert res["metrics"]["accuracy"]["value"] == 1 / 6
    assert {r["id"] for r in rows if r["correct"]} == {"0"}


def test_mistyped_grader_option_is_one_line_before_any_request(tmp_path, stub_server):
    suite = write_suite(tmp_path, f"{{name: '{EXAMPLES / 'toy_grader.py'}:Contains', case_sensitiv: true}}")
    stub_server.configure({"default_reply": "x"})
    proc = run_cli("run", str(suite), "--base-url", stub_server.base_url, "--model", "m", "--no-cache",
                   "--output-dir", str(tmp_path / "runs"))
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "add.yaml: grader.case_sensitiv: unknown field" in proc.stderr
    assert stub_server.stats()["requests"] == 0 and not (tmp_path / "runs").exists()


def test_toy_multi_turn_solver_is_cached_turn_by_turn(tmp_path):
    suite = write_suite(tmp_path, extra=f"solver: {{name: '{EXAMPLES / 'toy_solver.py'}:SelfCheck', rounds: 1}}\n")
    profile = write_profile(tmp_path)
    _, res, rows = results(run(tmp_path, suite, profile))
    assert res["metrics"]["accuracy"]["value"] == 1.0 and res["requests"] == 12  # two turns per item
    assert all(r["turns"] == 2 and [m["role"] for m in r["messages"]] == ["user", "assistant", "user"] for r in rows)
    assert rows[0]["messages"][-1]["content"].startswith("Check your work")
    _, again, rows2 = results(run(tmp_path, suite, profile))
    assert again["requests"] == 0 and again["cached"] == 6 and again["metrics"] == res["metrics"]


def test_unknown_solver_option_and_unknown_provider_are_one_line(tmp_path):
    suite = write_suite(tmp_path, extra=f"solver: {{name: '{EXAMPLES / 'toy_solver.py'}:SelfCheck', round: 2}}\n")
    proc = run(tmp_path, suite, write_profile(tmp_path))
    assert proc.returncode == 1 and "solver.round: unknown field" in proc.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text("provider: telepathy\nbase_url: http://x/v1\nmodel: m\n")
    proc = run(tmp_path, write_suite(tmp_path), bad)
    assert proc.returncode == 1 and "unknown provider 'telepathy'; known providers: llamacpp, openai" in proc.stderr


def test_toy_generator_by_path_builds_a_grid(tmp_path, stub_server):
    suite = tmp_path / "echo.yaml"
    suite.write_text(
        f"name: echo\ndescription: toy grid\ndataset: {{generator: {{name: '{EXAMPLES / 'toy_generator.py'}:Echo', "
        "word: key}}\ngrid: {lengths: [256, 512], depths: [0, 100]}\n"
        "prompt: {template: \"{context}\\nWhat is the key?\"}\ngeneration: {max_tokens: 16}\n"
        "grader: string_match_all\n")
    stub_server.configure({"oracle": {"pattern": r"The key is (\d+)\.", "find": [[100000, 0, 1]]}})
    proc = run_cli("run", str(suite), "--base-url", stub_server.base_url, "--model", "m", "--no-cache",
                   "--output-dir", str(tmp_path / "runs"), "--no-report", "--no-progress")
    _, res, rows = results(proc)
    assert res["n"] == 4 and res["metrics"]["accuracy"]["value"] == 1.0
    assert res["long_context"]["effective_length"] == 512
    assert all(r["meta"]["count_method"] == "tokenizer" and r["meta"]["prompt_tokens"] <= r["meta"]["length_tokens"] - 16
               for r in rows)
    bad = run_cli("run", str(suite), "--base-url", stub_server.base_url, "--model",
                  "m", "--no-cache", "--set", "dataset.generator.wrod=key")
    assert bad.returncode == 1 and "dataset.generator.wrod: unknown field" in bad.stderr

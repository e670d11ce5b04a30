"""suites/bfcl.yaml end to end against the stub server, in both tool modes: the first five items of each
category answered with realistic calls (right, int for float, omitted optional parameters, reordered
parallel calls, wrong types, extra and missing parameters, another offered or a hallucinated function,
calls on irrelevance items), natively as `tool_calls` and as text in Phi-4-mini's shapes. Per-category
accuracy must equal the known truth exactly, and the failure reasons must be the ones expected."""

import json
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from evalharness.tools.schema import openai_name

CATEGORIES = ("simple_python", "multiple", "parallel", "parallel_multiple", "irrelevance")

# item id -> (calls the model makes, correct?, reason when wrong); the calls use the suite's function names
ANSWERS = {
    "simple_python_0": ([("calculate_triangle_area", {"base": 10, "height": 5})], True, None),  # unit omitted
    "simple_python_1": ([("math.factorial", {"number": 5.0})], False, "wrong_type"),  # float for int
    "simple_python_2": ([("math.hypot", {"x": 4, "y": 5, "z": 0})], True, None),
    "simple_python_3": ([("algebra.quadratic_roots", {"a": 1, "b": -3})], False, "missing_parameter"),
    "simple_python_4": ([("solve_quadratic_equation", {"a": 2, "b": 6, "c": 5, "verbose": True})], False,
                        "extra_parameter"),
    "multiple_0": ([("triangle_properties.get", {"side1": 5, "side2": 4, "side3": 3})], True, None),
    "multiple_1": ([("math.triangle_area_base_height", {"base": 3.0, "height": 4.0})], False, "wrong_function"),
    "multiple_2": ([("country_info.capital", {"country": "brazil"})], True, None),
    "multiple_3": ([("EuclideanDistance.calculate", {"pointA": [3, 4], "pointB": [1, 2]})], True, None),
    "multiple_4": ([("kinematics.displacement", {"initial_speed": 20, "acceleration": 10, "time": 5})], False,
                   "wrong_function"),  # hallucinated
    "parallel_0": ([("spotify.play", {"artist": "Maroon 5", "duration": 15}),
                    ("spotify.play", {"artist": "Taylor Swift", "duration": 20})], True, None),  # reordered
    "parallel_1": ([("calculate_em_force", {"b_field": 5, "area": 2, "d_time": 4}),
                    ("calculate_em_force", {"b_field": 5, "area": 2, "d_time": 4})], False, "wrong_value"),
    "parallel_2": ([("calculate_resistance", {"length": 5, "area": 0.01}),
                    ("calculate_resistance", {"length": 5, "area": 0.01, "resistivity": "aluminum"})], True, None),
    "parallel_3": ([("protein_info.get_sequence_and_3D", {"protein_name": "human HbA1c"}),
                    ("protein_info.get_sequence_and_3D", {"protein_name": "normal hemoglobin"})], False,
                   "wrong_count"),
    "parallel_4": ([("calculate_bmi", {"height": 6, "weight": 80}),  # int for float
                    ("calculate_bmi", {"height": 5.6, "weight": 60})], True, None),
    "parallel_multiple_0": ([("math_toolkit.sum_of_multiples", {"lower_limit": 1, "upper_limit": 1000, "multiples": [3, 5]}),
                             ("math_toolkit.product_of_primes", {"count": 5})], True, None),
    "parallel_multiple_1": ([("area_rectangle.calculate", {"length": 7, "breadth": 3}),
                             ("area_circle.calculate", {"radius": 5})], True, None),
    "parallel_multiple_2": ([("circle.calculate_area", {"radius": "5"}),
                             ("circle.calculate_circumference", {"diameter": 10})], False, "wrong_type"),
    "parallel_multiple_3": ([("get_rectangle_property", {"perimeter": 14, "area": 15, "property": "width"}),
                             ("get_rectangle_property", {"perimeter": 14, "area": 15, "property": "length",
                                                         "tolerance": 0.1})], True, None),
    "parallel_multiple_4": ([("derivative", {"function": "lambda x: x**2", "x": 3.0}),
                             ("integral", {"function": "x**2", "a": 1.0, "b": 5.0})], True, None),
    "irrelevance_0": ([], True, None),
    "irrelevance_1": ([("math.sum", {"numbers": [1, 2, 3]})], False, "wrong_count"),
    "irrelevance_2": ([], True, None),
    "irrelevance_3": ([], True, None),
    "irrelevance_4": ([("find_roots", {"a": 0.0, "b": 1.0, "c": 2.0})], False, "wrong_count"),
}
NO_CALL = "I'm sorry, none of the functions I have can answer that."


def questions(data: Path) -> dict[str, str]:
    out = {}
    for category in CATEGORIES:
        for line in (data / "bfcl" / f"BFCL_v4_{category}.json").read_text().splitlines()[:5]:
            row = json.loads(line)
            out[row["id"]] = row["question"][0][0]["content"]
    assert len(set(out.values())) == len(out) == 25  # the stub answers by question
    return out


def as_text(item_id: str, calls: list) -> str:
    """The calls written the ways Phi-4-mini (and vLLM's convention) write them, a different shape per item."""
    if not calls:
        return NO_CALL
    objects = [{"name": name, "arguments": args} for name, args in calls]
    shape = sorted(ANSWERS).index(item_id) % 6
    if shape == 0:
        return "<|tool_call|>" + json.dumps(objects) + "<|/tool_call|>"
    if shape == 1:
        return "<|tool_call|>" + json.dumps(objects)  # closing tag left out
    if shape == 2:
        return "<|tool_call|>" + ", ".join(json.dumps(o) for o in objects) + "<|/tool_call|>"  # no brackets
    if shape == 3:
        return "functools" + json.dumps(objects)
    if shape == 4:
        return json.dumps(objects[0] if len(objects) == 1 else objects)  # bare JSON
    return "<|tool_call|>" + json.dumps([{"name": o["name"], "arguments": json.dumps(o["arguments"])} for o in objects])


def run_bfcl(tmp_path, server, *extra):
    proc = run_cli("run", str(REPO / "suites" / "bfcl.yaml"), "--base-url", server.base_url, "--model", "phi",
                   "--limit", "5", "--no-cache", "--output-dir", str(tmp_path / "runs"), "--no-progress", *extra,
                   env={"EVALHARNESS_DATA_DIR": str(REPO.parent / "shared" / "data")})
    assert proc.returncode == 0, proc.stderr
    run_dir = Path(proc.stdout.strip().splitlines()[-1])
    samples = {r["id"]: r for r in map(json.loads, (run_dir / "samples.jsonl").read_text().splitlines())}
    return run_dir, json.loads((run_dir / "results.json").read_text()), samples


def check_results(results: dict, samples: dict, mode: str) -> None:
    assert results["tool_mode"] == mode and results["n"] == 25
    for category in CATEGORIES:
        truth = [ANSWERS[f"{category}_{i}"][1] for i in range(5)]
        row = results["breakdown"]["subset"][category]
        assert row["n"] == 5 and row["accuracy"] == sum(truth) / 5, category
    macro = sum(results["breakdown"]["subset"][c]["accuracy"] for c in CATEGORIES) / 5
    assert results["metrics"]["accuracy"]["value"] == pytest.approx(macro)
    for item_id, (_, correct, reason) in ANSWERS.items():
        record = samples[f"{item_id.rsplit('_', 1)[0]}/{item_id}"]
        details = record["grades"]["tool_call_ast"]["details"]
        assert record["correct"] is correct and details.get("reason") == reason and details["mode"] == mode, item_id
    expected = {}
    for _, correct, reason in ANSWERS.values():
        if not correct:
            expected[reason] = expected.get(reason, 0) + 1
    reasons = results["failure_reasons"]
    assert reasons == expected and list(reasons.values()) == sorted(reasons.values(), reverse=True)
    assert results["failure_reasons_by_subset"]["multiple"] == {"wrong_function": 2}


def test_native_mode_sends_json_schema_tools_and_grades_tool_calls(tmp_path, stub_server, shared_data):
    text = questions(shared_data)
    calls, replies = {}, {}
    for item_id, (answer, _, _) in ANSWERS.items():
        if answer:  # names as an OpenAI-compatible server returns them (dots were made `_`), one as offered
            calls[text[item_id]] = [{"name": name if item_id == "multiple_3" else openai_name(name), "arguments": args}
                                    for name, args in answer]
        else:
            replies[text[item_id]] = NO_CALL
    # text that looks like a call is not a call in the native mode: this irrelevance item stays right
    replies[text["irrelevance_2"]] = '<|tool_call|>[{"name": "distance_calculator.calculate", "arguments": {}}]'
    stub_server.configure({"tool_calls": calls, "replies": replies})
    run_dir, results, samples = run_bfcl(tmp_path, stub_server)
    check_results(results, samples, "native")
    tools = stub_server.stats()["last_tools"]
    assert tools and all(t["type"] == "function" and t["function"]["parameters"]["type"] == "object" for t in tools)
    assert "dict" not in json.dumps(tools).replace('"description"', "")  # BFCL's "dict" never reaches the endpoint
    first = samples["simple_python/simple_python_0"]
    assert [m["role"] for m in first["messages"]] == ["user"] and first["tool_calls"][0]["name"] == "calculate_triangle_area"
    config = (run_dir / "config.yaml").read_text()
    assert "tool_mode: native" in config
    report = (run_dir / "report.html").read_text()
    assert "why answers were wrong" in report and "wrong_function" in report
    assert "wrong_function: called math.triangle_area_base_height, expected math.triangle_area_heron" in report


def test_prompt_mode_writes_tools_into_the_system_message_and_reads_calls_from_text(tmp_path, stub_server, shared_data):
    text = questions(shared_data)
    replies = {text[item_id]: as_text(item_id, answer) for item_id, (answer, _, _) in ANSWERS.items()}
    stub_server.configure({"replies": replies})
    _, results, samples = run_bfcl(tmp_path, stub_server, "--tool-mode", "prompt")
    check_results(results, samples, "prompt")
    assert stub_server.stats()["last_tools"] is None
    system = samples["parallel/parallel_0"]["messages"][0]
    assert system["role"] == "system"
    assert system["content"].startswith("You are a helpful assistant with some tools.<|tool|>[")
    assert system["content"].endswith("]<|/tool|>")
    offered = json.loads(system["content"].split("<|tool|>", 1)[1].removesuffix("<|/tool|>"))
    assert offered[0]["name"] == "spotify.play" and offered[0]["parameters"]["type"] == "dict"  # as BFCL gives it
    assert offered[0]["description"].endswith("Note that the provided function is in Python 3 syntax.")


def test_a_profile_chooses_the_tool_mode_and_the_flag_overrides_it(tmp_path, stub_server, shared_data):
    text = questions(shared_data)
    stub_server.configure({"replies": {text["simple_python_0"]: as_text(
        "simple_python_0", ANSWERS["simple_python_0"][0])}})
    profile = tmp_path / "prompt.yaml"
    profile.write_text(f"provider: openai\nbase_url: {stub_server.base_url}\nmodel: phi\ntool_mode: prompt\n")
    base = ["run", str(REPO / "suites" / "bfcl.yaml"), "--config", str(profile), "--limit", "1", "--no-cache",
            "--output-dir", str(tmp_path / "runs"), "--no-progress", "--no-report"]
    env = {"EVALHARNESS_DATA_DIR": str(shared_data)}
    for extra, mode in (([], "prompt"), (["--tool-mode", "native"], "native")):
        proc = run_cli(*base, *extra, env=env)
        assert proc.returncode == 0, proc.stderr
        results = json.loads((Path(proc.stdout.strip().splitlines()[-1]) / "results.json").read_text())
        assert results["tool_mode"] == mode
        assert results["breakdown"]["subset"]["simple_python"]["accuracy"] == (1.0 if mode == "prompt" else 0.0)


def test_a_tool_mode_the_provider_cannot_do_is_one_clear_error(tmp_path):
    model = tmp_path / "m.gguf"
    model.write_bytes(b"GGUF")
    proc = run_cli("run", str(REPO / "suites" / "bfcl.yaml"), "--model-path", str(model), "--tool-mode", "native",
                   "--output-dir", str(tmp_path / "runs"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and "tool_mode" in proc.stderr and "--tool-mode prompt" in proc.stderr

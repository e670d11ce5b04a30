"""The long-context numbers from records: cells, accuracy by length, effective length, over-context samples
left out, families, prefill; and the over-context classification of endpoint errors."""

from __future__ import annotations

import pytest

from evalharness.chat import ChatResponse
from evalharness.context_window import over_context_error, truncation_error
from evalharness.long_context import effective_length
from evalharness.metrics import GridSpec, MetricSpec, Tally
from evalharness.records import SampleRecord

GRID = GridSpec((1024, 2048, 4096), (0.0, 50.0, 100.0), 0.856)


def record(length, depth, correct, subset=None, over=False, ttft=None, prompt=0):
    meta = {"length_tokens": length, "depth": depth}
    item = f"{length}-{depth}-0"
    return SampleRecord(
        id=f"{subset}/{item}" if subset else item, correct=correct and not over, subset=subset,
        error="over the endpoint's context (limit 3000 tokens): x" if over else None,
        error_kind="over_context" if over else None, latency_s=0.5, ttft_s=ttft,
        usage={"prompt_tokens": prompt, "completion_tokens": 5},
        meta={**meta, "context_limit": 3000} if over else meta)


def results_of(records, **spec):
    return Tally(MetricSpec(breakdown=("length_tokens", "depth"), grid=GRID, **spec)).add_all(records).results()


def test_over_context_samples_are_counted_apart_not_wrong():
    records = [record(1024, d, True) for d in (0, 50, 100)] + [record(2048, d, d != 50) for d in (0, 50, 100)]
    records += [record(4096, d, False, over=True) for d in (0, 50, 100)]
    results = results_of(records)
    assert results["metrics"]["accuracy"]["value"] == pytest.approx(5 / 6)
    assert results["metrics"]["accuracy"]["items"] == 6 and results["n"] == 9
    assert results["errors"] == 0 and results["over_context"] == 3 and results["context_limit"] == 3000
    assert set(results["breakdown"]["length_tokens"]) == {"1024", "2048"}
    lc = results["long_context"]
    assert lc["effective_length"] == 1024  # 2048 is at 2/3
    assert lc["heatmap"]["accuracy"] == [[1.0, 1.0, None], [1.0, 0.0, None], [1.0, 1.0, None]]
    assert lc["by_length"]["4096"]["over_context"] == 3 and lc["by_length"]["4096"]["accuracy"] is None
    assert [c["over_context"] for c in lc["cells"] if c["length"] == 4096] == [1, 1, 1]


def test_effective_length_stays_above_the_threshold_from_the_start():
    rows = {"1": {"accuracy": 0.9, "n": 10, "over_context": 0}, "2": {"accuracy": 0.8, "n": 10, "over_context": 0},
            "4": {"accuracy": 0.95, "n": 10, "over_context": 0}}
    assert effective_length([1, 2, 4], rows, 0.856) == 1  # 4 is above again, but 2 broke the run
    assert effective_length([1, 2, 4], rows, 0.8) == 4
    assert effective_length([1, 2, 4], rows, 0.95) is None
    rows["2"] = {"accuracy": 1.0, "n": 5, "over_context": 1}  # partly over the context: not measured in full
    assert effective_length([1, 2, 4], rows, 0.8) == 1
    rows["2"] = {"accuracy": 0.856, "n": 5, "over_context": 0}  # exactly at the threshold counts
    assert effective_length([1, 2, 4], rows, 0.856) == 4 and effective_length([1, 2, 4], rows, 0.86) == 1


def test_a_family_averages_its_subsets_per_length_when_macro():
    records = [record(1024, d, True, subset="a") for d in (0, 50, 100)]
    records += [record(1024, d, d == 0, subset="b") for d in (0, 50, 100)]
    macro = results_of(records, subsets=("a", "b"), aggregate="macro")["long_context"]["by_length"]["1024"]
    assert macro["accuracy"] == pytest.approx((1 + 1 / 3) / 2) and macro["method"] == "stratified bootstrap"
    micro = results_of(records, subsets=("a", "b"), aggregate="micro")["long_context"]
    assert micro["by_length"]["1024"]["accuracy"] == pytest.approx(4 / 6)
    assert micro["cells"][0] == {"length": 1024, "depth": 0, "accuracy": 1.0, "n": 2, "correct": 2, "over_context": 0}


def test_prefill_speed_needs_time_to_first_token():
    records = [record(1024, 0, True, ttft=0.1, prompt=960), record(2048, 0, True, ttft=0.4, prompt=1980)]
    prefill = results_of(records)["long_context"]["prefill"]
    assert prefill["streamed"] and prefill["by_length"]["2048"]["prompt_tokens_per_s"] == pytest.approx(4950)
    assert prefill["by_length"]["1024"]["ttft_s"] == pytest.approx(0.1)
    plain = results_of([record(1024, 0, True, prompt=960)])["long_context"]["prefill"]
    assert not plain["streamed"] and plain["by_length"]["1024"]["latency_s"] == 0.5


def test_runs_without_a_grid_say_nothing_about_long_context():
    results = Tally(MetricSpec()).add_all([SampleRecord(id="1", correct=True)]).results()
    assert "long_context" not in results and results["over_context"] == 0 and results["context_limit"] is None


@pytest.mark.parametrize("message, limit", [
    ("HTTP 400 from the endpoint: This model's maximum context length is 131072 tokens. However, you requested "
     "131200 tokens (131136 in the messages, 64 in the completion).", 131072),
    ("HTTP 400 from the endpoint: the request exceeds the available context size, try increasing it", 8192),
    ("HTTP 422 from the endpoint: Input validation error: `inputs` tokens + `max_new_tokens` must be <= 4096. "
     "Given: 5000 `inputs` tokens and 64 `max_new_tokens`", 4096),
    ("llama.cpp rejected the request: Requested tokens (5000) exceed context window of 4096", 4096),
    ("HTTP 400 from the endpoint: prompt is too long: 210000 tokens > 200000 maximum", 200000),
    ("HTTP 400 from the endpoint: Please reduce the length of the messages (context_length_exceeded)", None),
    ("HTTP 400 from the endpoint: The prompt exceeds the model's context of 32768 tokens", 32768),
    ("HTTP 400 from the endpoint: prompt (40000 tokens) is longer than max_model_len (32768)", 32768),
])
def test_context_errors_are_recognised_with_their_limit(message, limit):
    body = '{"error": {"type": "exceed_context_size_error", "n_prompt_tokens": 9000, "n_ctx": 8192}}' \
        if "available context size" in message else ""
    error = over_context_error(message, body=body, status=400)
    assert error is not None and error.kind == "over_context" and error.context_limit == limit
    assert str(error).startswith("over the endpoint's context (") and message in str(error)


@pytest.mark.parametrize("message", ["HTTP 400 from the endpoint: temperature must be <= 2",
                                     "HTTP 400 from the endpoint: invalid model name", "HTTP 422: bad tools"])
def test_other_errors_are_not_over_the_context(message):
    assert over_context_error(message) is None


def test_truncation_needs_a_count_from_the_endpoint():
    response = ChatResponse("x", usage={"prompt_tokens": 2048, "completion_tokens": 1})
    fields = {"built_tokens": 4000, "count_method": "tokenizer"}
    error = truncation_error(fields, response)
    assert error.kind == "over_context" and error.context_limit == 2048 and "counted 2048" in str(error)
    assert truncation_error({**fields, "built_tokens": 2100}, response) is None  # within 3%
    assert truncation_error({**fields, "count_method": "estimate"}, response) is None
    assert truncation_error(fields, ChatResponse("x", usage={"prompt_tokens": 0, "completion_tokens": 0})) is None
    assert truncation_error({}, response) is None

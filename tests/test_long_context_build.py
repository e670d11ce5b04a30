"""Building long-context prompts: lengths hit in a real model's tokens, needles at their depth and at
sentence boundaries, deterministic items; the haystack and generators on their own.

The token counts come from the in-process provider (SmolLM2-135M-Instruct's GGUF tokenizer and chat
template), the same counting path a run uses with that provider.
"""

from __future__ import annotations

import asyncio
import importlib.util
import re

import pytest

from evalharness.chat import ChatRequest, ChatResponse
from evalharness.errors import UserError
from evalharness.generated import grid_cells, prepare
from evalharness.generators import Cell
from evalharness.generators.haystack import Haystack, sentence_starts
from evalharness.generators.needle import Needle, NeedleOptions
from evalharness.generators.variable_tracking import VariableTracking, VariableTrackingOptions
from evalharness.suite import parse_suite
from evalharness.token_count import TokenCounter

HAS_LLAMA = importlib.util.find_spec("llama_cpp") is not None
NEEDLE = re.compile(r"The special magic number for (\S+) is (\d{7})\.")


def suite_data(**grid):
    return {
        "name": "lc", "description": "d",
        "dataset": {"generator": {"name": "needle"}},
        "grid": {"lengths": [1024, 4096], "depths": [0, 50, 100], **grid},
        "prompt": {"system": "Answer briefly.",
                   "template": "Find the number.\n\n{context}\n\nWhat is the special magic number for {query}?"},
        "generation": {"max_tokens": 64, "temperature": 0},
        "grader": "string_match_all",
    }


class NoRequests:
    """A `generate` that must not be called: the provider counts tokens itself."""

    async def __call__(self, request: ChatRequest) -> ChatResponse:
        raise AssertionError("a counting request was sent although the provider can count")


@pytest.fixture(scope="module")
def provider():
    if not HAS_LLAMA:
        pytest.skip("llama-cpp-python not installed (pip install '.[local]')")
    from evalharness.providers.llamacpp import LlamaCppProvider

    provider = LlamaCppProvider(n_ctx=512)
    yield provider
    asyncio.run(provider.aclose())


@pytest.fixture(scope="module")
def built(provider, request):
    """Items of a 1K/4K/16K x 5-depth grid over the essays, with each prompt's real token count."""
    import os

    from conftest import SHARED_DATA

    if not SHARED_DATA.is_dir():
        pytest.skip("shared data folder not found")
    old = os.environ.get("EVALHARNESS_DATA_DIR")
    os.environ["EVALHARNESS_DATA_DIR"] = str(SHARED_DATA)
    try:
        suite = parse_suite(suite_data(lengths=[1024, 4096, 16384], depths=[0, 25, 50, 75, 100]))

        async def build():
            counter = TokenCounter(provider, NoRequests())
            tasks = await prepare(suite, counter)
            out = []
            for g in tasks:
                for item in g.items():
                    messages = g.prompter.messages(item)
                    out.append((item, messages, await provider.count_tokens(messages)))
            return counter, out

        return asyncio.run(build())
    finally:
        if old is None:
            os.environ.pop("EVALHARNESS_DATA_DIR", None)
        else:
            os.environ["EVALHARNESS_DATA_DIR"] = old


def test_every_prompt_is_within_two_percent_below_its_usable_length(built):
    counter, items = built
    assert counter.method == "tokenizer" and len(items) == 15
    for item, _, tokens in items:
        usable = item.fields["length_tokens"] - 64  # generation.max_tokens is reserved for the answer
        assert 0.98 * usable <= tokens <= usable, (item.id, tokens, usable)
        assert item.fields["built_tokens"] == tokens and item.fields["count_method"] == "tokenizer"


def test_needles_sit_at_their_depth_in_tokens(built, provider):
    llm = provider._load()
    for item, _, _ in built[1]:
        context = item.fields["context"]
        match = NEEDLE.search(context)
        assert match and match.group(2) == item.fields["gold"] and match.group(1) == item.fields["query"]
        before = len(llm.tokenize(context[:match.start()].encode(), add_bos=False))
        total = len(llm.tokenize(context.encode(), add_bos=False))
        depth = 100 * before / total
        tolerance = 6 if item.fields["length_tokens"] <= 1024 else 2.5  # one sentence is ~3% of 1K tokens
        assert abs(depth - item.fields["depth"]) <= tolerance, (item.id, depth)
        assert abs(item.fields["needle_depth"] - item.fields["depth"]) <= tolerance


def test_needles_sit_at_sentence_boundaries(built):
    for item, _, _ in built[1]:
        context = item.fields["context"]
        match = NEEDLE.search(context)
        before, after = context[:match.start()].rstrip(), context[match.end():].lstrip()
        assert before == "" or re.search(r"[.!?][\"')\]]*$", before), (item.id, before[-40:])
        assert after == "" or re.match(r"[\"'(\[]?[A-Z0-9]", after), (item.id, after[:40])
        if after == "":
            assert re.search(r"[.!?][\"')\]]*$", before)  # only a finished text takes a needle at its end


def test_items_are_deterministic_and_distinct(built, shared_data):
    _, items = built
    golds = [item.fields["gold"] for item, _, _ in items]
    assert len(set(golds)) == len(golds)  # every cell asks for a new value
    first = Needle(NeedleOptions()).row(Cell(4096, 50), 9000)
    assert first == Needle(NeedleOptions()).row(Cell(4096, 50), 9000)
    assert first != Needle(NeedleOptions(seed=1)).row(Cell(4096, 50), 9000)
    assert first != Needle(NeedleOptions(), salt="other_subset").row(Cell(4096, 50), 9000)


def test_haystack_boundaries_and_repetition():
    text = ("It works.We found that Mr. Smith and J. Doe agreed. Is it? \"Yes,\" he said. "
            "Costs rose 3.5 percent.\n[1] A note. e.g. this one stays.")
    starts = sentence_starts(text)
    pieces = [text[s:s + 6] for s in starts]
    assert pieces == ["We fou", "Is it?", "\"Yes,\"", "Costs ", "[1] A "]  # not after Mr., J. or 3.5
    hay = Haystack("One two three. Four five six. ")
    context, depths = hay.build(200, [(50, "NEEDLE.")])  # longer than the text: it repeats
    assert context.count("One two three.") >= 6 and "NEEDLE." in context and 35 <= depths[0] <= 65
    assert hay.build(200, [(50, "NEEDLE.")]) == (context, depths)


def test_variable_tracking_chain_reads_forwards():
    generator = VariableTracking(VariableTrackingOptions(chains=2, hops=3))
    row = generator.row(Cell(4096, 30), 6000)
    names = row["gold"]
    assert len(names) == 4 and row["num_vars"] == 4
    context = row["context"]
    assert f"VAR {names[0]} = {row['query']}." in context
    positions = [context.index(f"VAR {b} = VAR {a}.") for a, b in zip(names, names[1:])]
    assert positions == sorted(positions) and context.index(f"VAR {names[0]} = ") < positions[0]
    assert context.count("VAR ") == 2 * (3 + 1) + 3 * 2  # two chains; every hop names two variables


def test_multi_key_value_and_query_rows():
    options = NeedleOptions(keys=4, values=2, queries=2, value_type="uuids", haystack="noise")
    row = Needle(options).row(Cell(2048, 10), 5000)
    assert len(row["gold"]) == 4 and row["value_kind"] == "UUID"
    assert row["context"].count("The special magic UUID for") == 8
    assert " and " in row["query"]
    for value in row["gold"]:
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", value)


def test_grid_and_generator_options_are_checked_when_the_suite_loads():
    with pytest.raises(UserError, match=r"grid.lengths\[0\]: expected an integer >= 64"):
        parse_suite(suite_data(lengths=[32]))
    with pytest.raises(UserError, match=r"grid.threshold: expected a int/float <= 1"):
        parse_suite(suite_data(threshold=85.6))
    bad = suite_data()
    bad["dataset"] = {"generator": {"name": "needle", "queries": 3}}
    with pytest.raises(UserError, match=r"dataset.generator: queries \(3\) cannot exceed keys \(1\)"):
        parse_suite(bad)
    bad["dataset"] = {"generator": {"name": "needle", "value_tpye": "uuids"}}
    with pytest.raises(UserError, match=r"dataset.generator.value_tpye: unknown field"):
        parse_suite(bad)
    plain = {**suite_data(), "dataset": {"path": "x.jsonl"}, "fields": {"question": "q"}}
    with pytest.raises(UserError, match=r"grid: only a generated dataset"):
        parse_suite(plain)
    suite = parse_suite(suite_data())
    assert suite.breakdown[:2] == ("length_tokens", "depth")
    assert [c.id for c in grid_cells(suite, limit=2)] == ["1024-0-0", "1024-50-0"]

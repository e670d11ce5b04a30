"""The `choices:` block (options formatted, gold read as the letter shown), and the data features the
multiple-choice suites need: labels files joined by line, columns gathered into a list, dotted columns
into lists of records, hub field mappings, per-item few-shot exemplars, the gated-hub error."""

import hashlib
import json

import pytest

from conftest import REPO, run_cli
from evalharness.choices import ChoiceSpec, present, represent
from evalharness.datasets import load_items
from evalharness.errors import UserError
from evalharness.runner import RunOptions, build_jobs, load_suite_items
from evalharness.schema import convert
from evalharness.suite import load_suite, parse_suite
from evalharness.suite_schema import DatasetSpec, FieldSpec


def spec(**kwargs) -> ChoiceSpec:
    return convert({"field": "options", **kwargs}, ChoiceSpec, source="test", root="choices")


def test_block_letters_and_gold_forms():
    item = {"options": ["red", "green", "blue"], "gold": "2"}
    shown = present({**item, "labels": ["1", "2", "3"]}, spec(labels="labels"))
    assert shown["choices"] == "A. red\nB. green\nC. blue"
    assert (shown["gold"], shown["gold_index"], shown["gold_text"]) == ("B", 1, "green")
    assert shown["choice_letters"] == ["A", "B", "C"] and shown["choice_texts"] == ["red", "green", "blue"]
    assert present({**item, "gold": 2}, spec())["gold"] == "C"            # an index
    assert present({**item, "gold": "2"}, spec(gold="ordinal"))["gold"] == "B"  # 1-based
    assert present({**item, "gold": "(C)"}, spec())["gold"] == "C"        # a letter
    assert present({**item, "gold": "blue"}, spec())["gold"] == "C"       # the option's text
    assert present(item, spec(style="(A)"))["choices"].splitlines()[0] == "(A) red"


def test_arc_numeric_labels_become_letters(shared_data):
    suite = load_suite(REPO / "suites" / "arc_challenge.yaml")
    validation = load_items(suite.prompt.fewshot.dataset, suite.fields)
    numeric = [i for i in validation if i.fields["labels"][0] == "1"]
    assert len(numeric) == 4
    for raw in numeric:
        shown = present(raw.fields, suite.tasks[0].choices)
        assert shown["gold"] == "ABCD"[int(raw.gold) - 1] and "1." not in shown["choices"]


def test_ten_options_strip_and_drop():
    options = [" alpha", "beta ", "N/A", "gamma", "delta", "eps", "zeta", "eta", "theta", "iota", "kappa"]
    shown = present({"options": options, "gold": "D"}, spec(gold="letter", drop=["N/A"]))
    assert shown["choice_texts"][:2] == ["alpha", "beta"] and len(shown["choice_texts"]) == 10
    assert shown["gold"] == "C" and shown["gold_text"] == "gamma"  # letter D of the file is C once N/A is gone
    assert shown["choice_letters"][-1] == "J"


def test_marked_options_and_seeded_shuffle():
    targets = {"true one": 1, "true two": 1, "false one": 0, "false two": 0, "false three": 0}
    first = present({"options": targets}, spec(gold="marked", shuffle=True))
    again = present({"options": dict(targets)}, spec(gold="marked", shuffle=True))
    assert first == again  # the same order every time, whatever the item's position
    assert isinstance(first["gold"], list) and len(first["gold"]) == 2
    assert sorted(first["choice_texts"][first["choice_letters"].index(g)] for g in first["gold"]) == ["true one",
                                                                                                     "true two"]
    assert first["gold_letter"] == first["gold"][0]
    orders = {tuple(present({"options": {f"q{k} {t}": v for t, v in targets.items()}},
                            spec(gold="marked", shuffle=True))["choice_texts"][0].split()[1:]) for k in range(30)}
    assert len(orders) > 1  # different questions get different orders


def test_presentations_rotate_the_gold_through_every_place():
    shown = present({"options": ["w", "x", "y", "z"], "gold": 1}, spec())
    places = [represent(shown, spec(), p)["gold"] for p in range(4)]
    assert sorted(places) == ["A", "B", "C", "D"]
    fifth = represent(shown, spec(), 5)
    assert sorted(fifth["choice_texts"]) == ["w", "x", "y", "z"]
    assert fifth["gold_text"] == "x"


@pytest.mark.parametrize("fields,message", [
    ({"options": ["a", "b"], "gold": "7"}, "gold '7' is not a dataset label, letter, 0-based index or option text"),
    ({"options": ["a"], "gold": 0}, "expected at least two options"),
    ({"options": "a, b", "gold": 0}, "expected at least two options"),
])
def test_unreadable_items_are_user_errors(fields, message):
    with pytest.raises(UserError, match=message):
        present(fields, spec(), "suites/x.yaml: item 3")


def test_suite_errors_name_the_field(tmp_path):
    base = {"name": "s", "description": "d", "dataset": {"path": "x.jsonl"}, "fields": {"q": "q", "gold": "a"},
            "prompt": {"template": "{q}"}, "grader": "choice"}
    with pytest.raises(UserError, match=r"choices: 'options' is not one of the suite's fields"):
        parse_suite({**base, "choices": {"field": "options"}}, source=tmp_path / "s.yaml")
    with pytest.raises(UserError, match=r"shuffle_choices: needs a choices: block"):
        parse_suite({**base, "shuffle_choices": 3}, source=tmp_path / "s.yaml")
    with pytest.raises(UserError, match=r"choices.style: expected one of"):
        parse_suite({**base, "fields": {"options": "o", "gold": "a"}, "choices": {"field": "options", "style": "1."}},
                    source=tmp_path / "s.yaml")


def test_labels_file_joined_by_line(tmp_path, monkeypatch):
    (tmp_path / "rows.jsonl").write_text('{"goal": "g0", "sol1": "a", "sol2": "b"}\n{"goal": "g1", "sol1": "c", '
                                         '"sol2": "d"}\n')
    (tmp_path / "labels.lst").write_text("1\n0\n")
    monkeypatch.setenv("EVALHARNESS_DATA_DIR", str(tmp_path))
    fields = {"options": FieldSpec("", columns=("sol1", "sol2")), "gold": FieldSpec("label")}
    items = load_items(DatasetSpec(local="rows.jsonl", labels_local="labels.lst"), fields)
    assert [i.fields["options"] for i in items] == [["a", "b"], ["c", "d"]] and [i.gold for i in items] == ["1", "0"]
    (tmp_path / "labels.lst").write_text("1\n")
    with pytest.raises(UserError, match="has 1 labels for 2 rows"):
        load_items(DatasetSpec(local="rows.jsonl", labels_local="labels.lst"), fields)


def test_dotted_columns_reach_into_lists_of_records(tmp_path):
    path = tmp_path / "obqa.jsonl"
    path.write_text(json.dumps({"question": {"stem": "s", "choices": [{"text": "t1", "label": "A"},
                                                                       {"text": "t2", "label": "B"}]}}) + "\n")
    items = load_items(DatasetSpec(path=path), {"options": FieldSpec("question.choices.text")})
    assert items[0].fields["options"] == ["t1", "t2"]


def test_json_lines_with_unicode_line_separators_in_strings(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(json.dumps({"q": "one\x85two\u2028three"}, ensure_ascii=False) + "\n" + json.dumps({"q": "b"}))
    items = load_items(DatasetSpec(path=path), {"q": FieldSpec("q")})
    assert [i.fields["q"] for i in items] == ["one\x85two\u2028three", "b"]


def test_hub_rows_use_the_hub_field_mapping(tmp_path, monkeypatch):
    """The real `datasets.load_dataset` path, offline: a local folder stands in for a hub id whose layout
    differs from the local file's (OpenBookQA's question_stem against question.stem)."""
    folder = tmp_path / "hub_obqa"
    folder.mkdir()
    (folder / "test.jsonl").write_text(json.dumps({"question_stem": "stem?", "choices": {"text": ["x", "y"],
                                                   "label": ["A", "B"]}, "answerKey": "B"}) + "\n")
    for name, value in (("HF_DATASETS_OFFLINE", "1"), ("HF_HUB_OFFLINE", "1"), ("HF_HOME", str(tmp_path / "hf"))):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("EVALHARNESS_DATA_DIR", raising=False)
    suite = parse_suite({"name": "o", "description": "d", "grader": "choice", "prompt": {"template": "{question}"},
                         "dataset": {"hf": {"path": str(folder), "split": "test",
                                            "fields": {"question": "question_stem", "options": "choices.text"}},
                                     "local": "openbookqa/test.jsonl"},
                         "fields": {"question": "question.stem", "options": "question.choices.text",
                                    "gold": "answerKey"},
                         "choices": {"field": "options"}})
    items = load_suite_items(suite, RunOptions())
    assert items[0].fields["question"] == "stem?" and items[0].fields["choices"] == "A. x\nB. y"
    assert items[0].gold == "B"


def test_per_item_exemplars_never_show_the_item(shared_data):
    suite = load_suite(REPO / "suites" / "winogrande.yaml")
    items = load_suite_items(suite, RunOptions())
    jobs = build_jobs(suite, items, {})
    seen_sets = set()
    for job in jobs[:300]:
        messages = job.request.messages
        shots = [m["content"] for m in messages[:-1] if m["role"] == "user"]
        assert len(shots) == 5 and messages[-1]["content"] not in shots
        assert all(m["content"] in ("Answer: A", "Answer: B") for m in messages if m["role"] == "assistant")
        seen_sets.add(tuple(shots))
    assert len(seen_sets) > 250  # each item its own draw
    again = build_jobs(suite, items[:50], {})
    assert [j.key for j in again] == [j.key for j in jobs[:50]]  # reproducible: same prompts, same cache keys


def test_gsm8k_and_math500_cache_keys_unchanged(shared_data):
    """Suites that do not ask for per-item exemplars or choices keep their prompts, hence their cache keys
    (digests computed with the code before multiple choice existed)."""
    expected = {"gsm8k": "ce8c34e898dd97eeab87ecc08c315e9ec84efc863db1aa038fe1b854f895fd91",
                "math500": "6e6aac17dd746ec71cf45446d0971b4a6c3d835be9b6389504c858d6f7b6a07a"}
    for name, digest in expected.items():
        suite = load_suite(REPO / "suites" / f"{name}.yaml")
        items = load_suite_items(suite, RunOptions(limit=5))
        jobs = build_jobs(suite, items, {"base_url": "http://x/v1", "model": "m"})
        assert hashlib.sha256("".join(j.key for j in jobs).encode()).hexdigest() == digest, name


GATED_SUITE = REPO / "suites" / "gpqa.yaml"


def test_gated_dataset_error_names_the_token_variable(tmp_path, monkeypatch):
    """The hub refusing a gated dataset, simulated the way the `datasets` library reports it."""
    import datasets
    from datasets.exceptions import DatasetNotFoundError

    def refuse(path, *args, **kwargs):
        raise DatasetNotFoundError(f"Dataset '{path}' is a gated dataset on the Hub. You must be authenticated "
                                   "to access it.")

    monkeypatch.setattr(datasets, "load_dataset", refuse)
    monkeypatch.setenv("EVALHARNESS_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    suite = load_suite(GATED_SUITE)
    with pytest.raises(UserError) as info:
        load_suite_items(suite, RunOptions())
    message = str(info.value)
    assert "\n" not in message and "set HF_TOKEN" in message and "Idavidrein/gpqa is gated" in message
    assert "https://huggingface.co/datasets/Idavidrein/gpqa" in message and "EVALHARNESS_DATA_DIR" in message
    monkeypatch.setenv("HF_TOKEN", "hf_secret_value")
    with pytest.raises(UserError) as info:
        load_suite_items(suite, RunOptions())
    assert "HF_TOKEN is set but its token was refused" in str(info.value)
    assert "hf_secret_value" not in str(info.value)


def test_gated_dataset_offline_from_the_command_line(tmp_path):
    """Through the real library offline (no network here): one line, exit 1, naming HF_TOKEN."""
    env = {"EVALHARNESS_DATA_DIR": str(tmp_path), "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(tmp_path / "hf"), "HF_TOKEN": ""}
    proc = run_cli("run", str(GATED_SUITE), "--base-url", "http://127.0.0.1:9/v1", "--model", "m", "--no-cache",
                   "--output-dir", str(tmp_path / "runs"), env=env)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "HF_TOKEN" in proc.stderr and "gated" in proc.stderr

"""RULER's scoring: string_match_all (every reference in the answer) and string_match_part (any)."""

from __future__ import annotations

import json

import pytest

from conftest import run_cli
from evalharness.errors import UserError
from evalharness.graders import Exchange, make_grader


def grade(name, response, gold, **options):
    return make_grader(name, options).grade(Exchange.of_text(response, gold))


def test_all_needs_every_reference_and_reports_the_share():
    verdict = grade("string_match_all", "The numbers are 1234567 and 7654321.", ["1234567", "7654321", "1111111"])
    assert not verdict.correct and verdict.details["score"] == pytest.approx(2 / 3)
    assert verdict.extracted == "1234567, 7654321" and verdict.details["missing"] == ["1111111"]
    assert grade("string_match_all", "1234567, 7654321, 1111111", ["1234567", "7654321", "1111111"]).correct
    assert grade("string_match_all", "1234567 7654321", ["1234567", "7654321", "1111111"], pass_fraction=0.6).correct


def test_part_needs_any_reference():
    assert grade("string_match_part", "It is Paris.", ["London", "paris"]).correct
    verdict = grade("string_match_part", "It is Rome.", ["London", "Paris"])
    assert not verdict.correct and verdict.details["score"] == 0.0


def test_case_and_whole_word_options():
    assert grade("string_match_all", "the key is qwert", "QWERT").correct  # RULER ignores case
    assert not grade("string_match_all", "the key is qwert", "QWERT", case_sensitive=True).correct
    assert grade("string_match_all", "It is 41234.", "1234").correct  # RULER: a plain substring
    assert not grade("string_match_all", "It is 41234.", "1234", whole_word=True).correct
    assert grade("string_match_all", "It is **1234**.", "1234", whole_word=True).correct
    uuid = "e7ec2bda-8104-4373-a2b2-9370fdc652d0"
    assert grade("string_match_all", f"The UUID is {uuid}.", uuid, whole_word=True).correct


def test_garbage_never_crashes_and_is_wrong():
    for response in (None, "", "\x00\x07" * 50, "<script>alert(1)</script>" * 1000):
        assert not grade("string_match_all", response, "1234567").correct
    assert not grade("string_match_all", "anything", None).correct
    assert not grade("string_match_all", "anything", ["", "  "]).correct
    assert grade("string_match_all", "12\x0034567 no; 1234567", "1234567").correct


def test_options_are_typed():
    with pytest.raises(UserError, match=r"pass_fraction: expected a int/float > 0"):
        make_grader("string_match_all", {"pass_fraction": 0})
    with pytest.raises(UserError, match=r"whole_words: unknown field"):
        make_grader("string_match_part", {"whole_words": True})


def test_offline_grading(tmp_path):
    records = tmp_path / "r.jsonl"
    records.write_text("\n".join(json.dumps(r) for r in [
        {"id": "a", "response": "The value is 4721093.", "gold": "4721093"},
        {"id": "b", "response": "I could not find it.", "gold": ["4721093"]},
    ]) + "\n")
    proc = run_cli("grade", "string_match_all", "--input", str(records))
    assert proc.returncode == 0, proc.stderr
    assert "accuracy 0.5000 (1/2)" in proc.stdout

"""The general "why it failed" breakdown: wrong completions counted by the primary grader's
`details["reason"]`, overall and per subset, only for runs whose grader gives reasons."""

from evalharness.metrics import MetricSpec, Tally
from evalharness.records import SampleRecord


def record(i, correct, reason=None, subset="a", error=None, extra_reason=None):
    grades = {"primary": {"correct": correct, "extracted": None, "details": {"reason": reason} if reason else {}}}
    if extra_reason:
        grades["other"] = {"correct": False, "extracted": None, "details": {"reason": extra_reason}}
    return SampleRecord(id=f"{subset}/{i}", correct=correct, grades=grades, subset=subset, error=error)


def test_wrong_answers_are_counted_by_the_primary_graders_reason():
    records = [record(0, True), record(1, False, "wrong_value", extra_reason="ignored"), record(2, False, "wrong_value"),
               record(3, False, "wrong_type", subset="b"), record(4, False, subset="b"),
               record(5, False, "wrong_type", subset="b", error="HTTP 500 after 3 tries")]
    tally = Tally(MetricSpec(subsets=("a", "b"))).add_all(records)
    results = tally.results()
    assert results["failure_reasons"] == {"wrong_value": 2, "wrong_type": 1, "unspecified": 1, "request_failed": 1}
    assert list(results["failure_reasons"].values()) == [2, 1, 1, 1]
    assert results["failure_reasons_by_subset"] == {
        "a": {"wrong_value": 2}, "b": {"wrong_type": 1, "unspecified": 1, "request_failed": 1}}


def test_no_reasons_no_breakdown():
    records = [record(0, True), record(1, False), record(2, False, error="timeout")]
    results = Tally(MetricSpec()).add_all(records).results()
    assert "failure_reasons" not in results and "failure_reasons_by_subset" not in results

"""BFCL's AST rules (graders/tools/ast_check.py), one test per rule, on answers a model really gives: the
function docs and expected calls are in BFCL's shapes (`"type": "dict"`, `[allowed values]`, `""` for "may be
left out"). The agreement with BFCL's own checker on the whole dataset is measured outside the repository
(see the report of issue 11); these pin each rule down."""

import pytest

from evalharness.graders.tools.ast_check import REASONS, check_calls, normalize

TRIANGLE = {"name": "calculate_triangle_area", "description": "Area of a triangle.",
            "parameters": {"type": "dict", "required": ["base", "height"], "properties": {
                "base": {"type": "integer", "description": "The base."},
                "height": {"type": "integer", "description": "The height."},
                "unit": {"type": "string", "description": "Unit, default 'units'."}}}}
TRIANGLE_GOLD = [{"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}]

CIRCLE = {"name": "geometry.circle_area", "description": "Area of a circle.",
          "parameters": {"type": "dict", "required": ["radius"], "properties": {
              "radius": {"type": "float", "description": "Radius."},
              "precision": {"type": "integer", "description": "Digits."}}}}
CIRCLE_GOLD = [{"geometry.circle_area": {"radius": [5.0], "precision": [2, ""]}}]

WEATHER = {"name": "get_weather", "description": "Weather for a city.",
           "parameters": {"type": "dict", "required": ["city"], "properties": {
               "city": {"type": "string", "description": "City, e.g. 'New York, NY'."},
               "days": {"type": "integer", "description": "Forecast days."}}}}

ROUTE = {"name": "plan_route", "description": "A route through points.",
         "parameters": {"type": "dict", "required": ["stops"], "properties": {
             "stops": {"type": "array", "items": {"type": "string"}, "description": "Cities in order."},
             "coords": {"type": "tuple", "items": {"type": "float"}, "description": "Start (lat, lon)."},
             "weights": {"type": "array", "items": {"type": "float"}, "description": "Leg weights."},
             "avoid": {"type": "dict", "description": "What to avoid.", "properties": {
                 "tolls": {"type": "boolean"}, "ferries": {"type": "boolean"}}},
             "legs": {"type": "array", "items": {"type": "dict"}, "description": "Legs."}}}}
ROUTE_GOLD = [{"plan_route": {
    "stops": [["New York", "Boston"]],
    "coords": [[40.7, -74.0], ""],
    "weights": [[1.0, 2.0], ""],
    "avoid": [{"tolls": [True], "ferries": [False, ""]}, ""],
    "legs": [[{"from": ["New York"], "to": ["Boston"]}], ""]}}]


def check(functions, gold, *calls):
    return check_calls(functions, gold, list(calls))


def test_a_right_answer_passes_and_a_wrong_function_name_fails():
    assert check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10, "height": 5})).correct
    verdict = check([TRIANGLE], TRIANGLE_GOLD, ("triangle_area", {"base": 10, "height": 5}))  # hallucinated
    assert not verdict.correct and verdict.reason == "wrong_function" and "triangle_area" in verdict.why


def test_every_required_parameter_must_be_present():
    verdict = check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10}))
    assert (verdict.correct, verdict.reason) == (False, "missing_parameter") and "height" in verdict.why


def test_no_parameter_outside_the_schema_or_the_expected_ones():
    extra = check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10, "height": 5, "color": "red"}))
    assert (extra.correct, extra.reason) == (False, "extra_parameter")
    # `days` is in the schema but the expected call does not have it: still an unexpected parameter
    gold = [{"get_weather": {"city": ["Paris"]}}]
    verdict = check([WEATHER], gold, ("get_weather", {"city": "Paris", "days": 3}))
    assert (verdict.correct, verdict.reason) == (False, "extra_parameter")


def test_an_optional_parameter_may_be_left_out_only_when_empty_string_is_allowed():
    assert check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10, "height": 5, "unit": "units"})).correct
    gold = [{"get_weather": {"city": ["Paris"], "days": [3]}}]  # days expected, not optional
    verdict = check([WEATHER], gold, ("get_weather", {"city": "Paris"}))
    assert (verdict.correct, verdict.reason) == (False, "missing_parameter") and "days" in verdict.why


def test_an_int_is_taken_where_a_float_is_expected_but_not_the_reverse():
    assert check([CIRCLE], CIRCLE_GOLD, ("geometry.circle_area", {"radius": 5})).correct
    assert check([CIRCLE], CIRCLE_GOLD, ("geometry.circle_area", {"radius": 5.0, "precision": 2})).correct
    verdict = check([CIRCLE], CIRCLE_GOLD, ("geometry.circle_area", {"radius": 5.0, "precision": 2.0}))
    assert (verdict.correct, verdict.reason) == (False, "wrong_type")


def test_wrong_types_fail_even_when_the_text_looks_the_same():
    for bad in ("10", 10.0, True):
        verdict = check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": bad, "height": 5}))
        assert (verdict.correct, verdict.reason) == (False, "wrong_type"), bad  # a bool is not an int either


def test_a_right_type_with_a_wrong_value_is_a_wrong_value():
    verdict = check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 12, "height": 5}))
    assert (verdict.correct, verdict.reason) == (False, "wrong_value") and "12" in verdict.why


def test_strings_compare_case_insensitively_without_spaces_and_some_punctuation():
    gold = [{"get_weather": {"city": ["New York, NY"], "days": [3, ""]}}]
    for written in ("new york ny", "NEW-YORK NY.", "New_York,NY", "new york/ny", "New*York^NY"):
        assert check([WEATHER], gold, ("get_weather", {"city": written})).correct, written
    for written in ("New York!", "Newark, NY", "New York, NY, USA"):
        verdict = check([WEATHER], gold, ("get_weather", {"city": written}))
        assert (verdict.correct, verdict.reason) == (False, "wrong_value"), written
    assert normalize("It's") == normalize('it"s')  # BFCL reads ' as "


def test_lists_compare_element_by_element_in_order_with_their_strings_normalised():
    call = {"stops": ["new york", "BOSTON"]}
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", call)).correct
    verdict = check([ROUTE], ROUTE_GOLD, ("plan_route", {"stops": ["Boston", "New York"]}))
    assert (verdict.correct, verdict.reason) == (False, "wrong_value")
    verdict = check([ROUTE], ROUTE_GOLD, ("plan_route", {"stops": ["New York"]}))
    assert not verdict.correct
    verdict = check([ROUTE], ROUTE_GOLD, ("plan_route", {"stops": "New York, Boston"}))
    assert (verdict.correct, verdict.reason) == (False, "wrong_type")


def test_tuples_compare_as_lists_and_ints_are_not_floats_inside_lists():
    base = {"stops": ["New York", "Boston"]}
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "coords": [40.7, -74.0]})).correct
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "weights": [1.0, 2.0]})).correct
    weighted = [{"plan_route": {**ROUTE_GOLD[0]["plan_route"], "weights": [[1.0, 2.0]]}}]
    verdict = check([ROUTE], weighted, ("plan_route", {**base, "weights": [1, 2]}))
    assert (verdict.correct, verdict.reason) == (False, "wrong_type")  # BFCL converts ints only at the top level
    # ... unless the list may be left out: BFCL then skips the element types (and [1, 2] == [1.0, 2.0])
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "weights": [1, 2]})).correct


def test_dicts_compare_key_by_key():
    base = {"stops": ["New York", "Boston"]}
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "avoid": {"tolls": True, "ferries": False}})).correct
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "avoid": {"tolls": True}})).correct  # ferries may go
    for avoid in ({"tolls": False}, {"ferries": False}, {"tolls": True, "highways": True}):
        verdict = check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "avoid": avoid}))
        assert (verdict.correct, verdict.reason) == (False, "wrong_value"), avoid


def test_lists_of_dicts_compare_element_by_element():
    base = {"stops": ["New York", "Boston"]}
    assert check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "legs": [{"from": "new york", "to": "BOSTON"}]})).correct
    for legs in ([{"from": "Boston", "to": "New York"}], [{"from": "New York"}], [{"from": "New York", "to": "Boston"}] * 2):
        assert not check([ROUTE], ROUTE_GOLD, ("plan_route", {**base, "legs": legs})).correct, legs


def test_an_optional_list_may_be_given_empty_as_bfcl_reads_empty_string_as_an_empty_list():
    for param in ("weights", "legs"):
        assert check([ROUTE], ROUTE_GOLD, ("plan_route", {"stops": ["New York", "Boston"], param: []})).correct


def test_expected_values_of_another_type_than_the_schema_are_compared_as_given():
    # BFCL calls this a variable: the schema says string, the expected value is a bool
    gold = [{"get_weather": {"city": [True]}}]
    assert check([WEATHER], gold, ("get_weather", {"city": True})).correct
    assert not check([WEATHER], gold, ("get_weather", {"city": "true"})).correct


def test_simple_expects_exactly_one_call():
    once = ("calculate_triangle_area", {"base": 10, "height": 5})
    verdict = check([TRIANGLE], TRIANGLE_GOLD, once, once)
    assert (verdict.correct, verdict.reason) == (False, "wrong_count")
    verdict = check([TRIANGLE], TRIANGLE_GOLD)
    assert (verdict.correct, verdict.reason) == (False, "wrong_count")


def test_multiple_expects_the_right_function_among_those_offered():
    offered = [WEATHER, TRIANGLE, CIRCLE]
    assert check(offered, TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10, "height": 5})).correct
    verdict = check(offered, TRIANGLE_GOLD, ("geometry.circle_area", {"radius": 5.0}))
    assert (verdict.correct, verdict.reason) == (False, "wrong_function")


PARALLEL_GOLD = [{"get_weather": {"city": ["Paris"], "days": [3, ""]}},
                 {"get_weather": {"city": ["Oslo"], "days": [3, ""]}},
                 {"calculate_triangle_area": {"base": [10], "height": [5], "unit": ["units", ""]}}]


def test_parallel_calls_match_in_any_order_one_to_one():
    paris, oslo = ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "oslo", "days": 3})
    area = ("calculate_triangle_area", {"base": 10, "height": 5})
    assert check([WEATHER, TRIANGLE], PARALLEL_GOLD, paris, oslo, area).correct
    assert check([WEATHER, TRIANGLE], PARALLEL_GOLD, area, oslo, paris).correct
    verdict = check([WEATHER, TRIANGLE], PARALLEL_GOLD, paris, paris, area)  # Paris twice, no Oslo
    assert (verdict.correct, verdict.reason) == (False, "wrong_value") and "Oslo" in verdict.why
    verdict = check([WEATHER, TRIANGLE], PARALLEL_GOLD, paris, oslo)
    assert (verdict.correct, verdict.reason) == (False, "wrong_count")
    verdict = check([WEATHER, TRIANGLE], PARALLEL_GOLD, paris, oslo, area, area)
    assert (verdict.correct, verdict.reason) == (False, "wrong_count")


def test_parallel_matching_is_greedy_in_expected_order_as_in_bfcl():
    # the first expected call accepts either city and takes the first call that fits (Paris), so the
    # second expected call (Paris only) finds none left, although a perfect matching exists
    gold = [{"get_weather": {"city": ["Paris", "Oslo"]}}, {"get_weather": {"city": ["Paris"]}}]
    assert not check([WEATHER], gold, ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "Oslo"})).correct
    assert check([WEATHER], gold, ("get_weather", {"city": "Oslo"}), ("get_weather", {"city": "Paris"})).correct


def test_irrelevance_passes_with_no_call_and_unreadable_calls_count_as_none():
    assert check_calls([WEATHER], [], []).correct
    assert check_calls([WEATHER], [], None).correct
    verdict = check_calls([WEATHER], [], [("get_weather", {"city": "Paris"})])
    assert (verdict.correct, verdict.reason) == (False, "wrong_count") and "get_weather" in verdict.why


def test_unreadable_calls_fail_when_a_call_is_expected():
    verdict = check_calls([TRIANGLE], TRIANGLE_GOLD, None)
    assert (verdict.correct, verdict.reason) == (False, "unparseable")
    verdict = check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", "base=10, height=5"))
    assert (verdict.correct, verdict.reason) == (False, "unparseable")


def test_hostile_values_and_a_broken_reference_never_raise():
    weird = [{"a": {"b": [1, {"c": None}]}}, float("nan"), "x" * 10_000, [[[]]], None]
    for value in weird:
        for param in ("base", "unit"):
            check([TRIANGLE], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10, "height": 5, param: value}))
        check([ROUTE], ROUTE_GOLD, ("plan_route", {"stops": value, "avoid": value, "legs": value}))
    for gold in (None, "x", [{"f": "not a dict"}], [{"f": {"p": 3}}]):
        verdict = check_calls([TRIANGLE], gold, [("f", {})])
        assert (verdict.correct, verdict.reason) == (False, "bad_reference")
    assert check([], TRIANGLE_GOLD, ("calculate_triangle_area", {"base": 10, "height": 5})).reason == "extra_parameter"


def test_every_reason_is_a_known_category():
    reasons = {check([TRIANGLE], TRIANGLE_GOLD, call).reason for call in [
        ("f", {}), ("calculate_triangle_area", {"base": 10}), ("calculate_triangle_area", {"base": "1", "height": 5})]}
    assert reasons <= set(REASONS) and len(reasons) == 3


@pytest.mark.parametrize("value, ok", [(5, True), (5.0, True), (5.5, False), ("5", False), (None, False)])
def test_float_parameter_values(value, ok):
    assert check([CIRCLE], CIRCLE_GOLD, ("geometry.circle_area", {"radius": value})).correct is ok

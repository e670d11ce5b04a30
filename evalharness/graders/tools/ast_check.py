"""BFCL's AST checker rules as pure functions: the calls a model made against the expected calls.

Inputs use BFCL's shapes: `functions` are the offered function descriptions (`{name, description,
parameters: {type, properties, required}}`), `expected` is `[{func_name: {param: [allowed values...]}}]`
(an empty list: no call should be made, BFCL's irrelevance), `calls` are the `(name, arguments)` pairs the
model produced, or None when they could not be read. The rules, as BFCL's checker applies them:

- Count: as many calls as expected (one for simple and multiple); no call at all when none is expected.
  Calls that cannot be read count as no call (so an unreadable answer passes an irrelevance item).
- Matching: each expected call, in order, takes the first not yet matched call that passes it; the
  calls' order does not matter (BFCL's parallel checker; simple and multiple are its one-call case).
- One call: the function name must match; every `required` parameter present; no parameter outside the
  schema or the expected ones; an expected parameter may be left out only when `""` is among its allowed
  values. Types follow the schema: an int is taken where a float is expected (not the reverse, and not
  inside lists); a bool is not an int; tuples compare as lists. When the expected values are of another
  type than the schema says (BFCL calls it a variable), the value may have either type and is compared
  as it is. Strings compare case-insensitively after removing spaces and `,./-_*^` (and with `'` read as
  `"`); in lists only the top-level strings are normalised; dicts are compared key by key (each key's
  value among its allowed ones, keys allowed to be missing when `""` is among theirs), lists of dicts
  element by element. Anything else must equal one of the allowed values.

Every failure says why: `reason` (one of `REASONS`) and a sentence. The checks run in BFCL's order, so the
reason is the one BFCL's `error_type` would give.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

REASONS = ("unparseable", "wrong_count", "wrong_function", "missing_parameter", "extra_parameter",
           "wrong_type", "wrong_value", "bad_reference")
PYTHON_TYPES: dict[str, type] = {"string": str, "integer": int, "float": float, "boolean": bool, "array": list,
                                 "tuple": list, "dict": dict, "any": str}
NESTED_TYPES = ("array", "tuple")
_IGNORED = re.compile(r"[ ,./\-_*^]")


@dataclass(frozen=True)
class Verdict:
    """`correct`, and when not: `reason` (one of REASONS) and `why` (one sentence)."""

    correct: bool
    reason: str | None = None
    why: str = ""


PASS = Verdict(True)


def fail(reason: str, why: str) -> Verdict:
    return Verdict(False, reason, why)


def check_calls(functions: list[dict[str, Any]], expected: list[dict[str, Any]],
                calls: list[tuple[str, Any]] | None) -> Verdict:
    """The verdict on one answer (see the module docstring)."""
    if not isinstance(expected, list) or not all(_is_expected_call(e) for e in expected):
        return fail("bad_reference", "the expected calls are not a list of {function: {parameter: [values]}}")
    if not expected:
        if calls:
            return fail("wrong_count", f"expected no call, got {len(calls)}: " + ", ".join(str(n) for n, _ in calls))
        return PASS
    if calls is None:
        return fail("unparseable", "the calls could not be read")
    if len(calls) != len(expected):
        return fail("wrong_count", f"expected {len(expected)} call(s), got {len(calls)}")
    matched: set[int] = set()
    for want in expected:
        (name, allowed), = want.items()
        doc = find_function(functions, name)
        failures = []
        for index, (called, arguments) in enumerate(calls):
            if index in matched:
                continue
            verdict = check_call(doc, name, called, arguments, allowed)
            if verdict.correct:
                matched.add(index)
                break
            failures.append((called == name, verdict))
        else:
            if len(expected) == 1:
                return failures[0][1]
            same_name = [v for is_same, v in failures if is_same]
            chosen = same_name[0] if same_name else failures[0][1]
            return fail(chosen.reason or "wrong_value", f"no call matches the expected {name}: {chosen.why}")
    return PASS


def _is_expected_call(item: Any) -> bool:
    if not isinstance(item, dict) or len(item) != 1:
        return False
    params = next(iter(item.values()))
    return isinstance(params, dict) and all(isinstance(values, list) for values in params.values())


def find_function(functions: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The offered function called `name` (an empty description when the suite does not offer it)."""
    for function in functions or []:
        if isinstance(function, dict) and function.get("name") == name:
            return function
    return {"name": name, "parameters": {"properties": {}, "required": []}}


def check_call(doc: dict[str, Any], name: str, called: str, arguments: Any, allowed: dict[str, list]) -> Verdict:
    """One call against one expected call (`allowed`: parameter -> allowed values)."""
    if called != name:
        return fail("wrong_function", f"called {called}, expected {name}")
    if not isinstance(arguments, dict):
        return fail("unparseable", f"the arguments of {called} are not an object")
    parameters = doc.get("parameters") if isinstance(doc.get("parameters"), dict) else {}
    properties = parameters.get("properties") if isinstance(parameters.get("properties"), dict) else {}
    for required in parameters.get("required") or []:
        if required not in arguments:
            return fail("missing_parameter", f"{name}: required parameter {required!r} is missing")
    for param, value in arguments.items():
        if param not in properties or param not in allowed:
            return fail("extra_parameter", f"{name}: unexpected parameter {param!r}")
        verdict = check_value(f"{name}.{param}", value, properties[param], allowed[param])
        if not verdict.correct:
            return verdict
    for param, values in allowed.items():
        if param not in arguments and not _may_be_missing(values):
            return fail("missing_parameter", f"{name}: parameter {param!r} is missing and not optional")
    return PASS


def check_value(where: str, value: Any, schema: Any, allowed: list) -> Verdict:
    """One argument: its type against the schema, then its value against the allowed ones."""
    type_name = schema.get("type") if isinstance(schema, dict) else None
    expected_type = PYTHON_TYPES.get(type_name) if isinstance(type_name, str) else None
    inner_type = None
    if type_name in NESTED_TYPES:
        items = schema.get("items")
        inner_type = PYTHON_TYPES.get(items.get("type")) if isinstance(items, dict) else None
    if type_name == "float" and type(value) is int:
        value = float(value)  # Python's own int -> float conversion; never the reverse
    if expected_type is None:  # a type BFCL does not know: compare the value alone
        return _in_allowed(where, value, allowed)
    ok, variable = type_ok(value, allowed, expected_type, inner_type)
    if not ok:
        return fail("wrong_type", f"{where}: expected {type_name}, got {_type_name(value)} {_short(value)}")
    if variable:
        return _in_allowed(where, value, allowed)
    if expected_type is dict:
        return _verdict(dict_matches(value, allowed), where, value, allowed)
    if expected_type is list and inner_type is dict:
        return _verdict(dict_list_matches(value, allowed), where, value, allowed)
    if expected_type is str:
        return _verdict(normalize(value) in [normalize(a) for a in allowed if type(a) is str], where, value,
                        allowed)
    if expected_type is list:
        return _verdict(list_matches(value, allowed), where, value, allowed)
    return _in_allowed(where, value, allowed)


def type_ok(value: Any, allowed: list, expected_type: type, inner_type: type | None) -> tuple[bool, bool]:
    """(type accepted, compared as a "variable"). The allowed values' own type (of the first that is not
    `""`) stands in for the schema's when they differ; list elements are checked one level deep against
    each allowed list in turn (an allowed value that is not a list accepts any elements)."""
    answer_type = next((type(a) for a in allowed if a != ""), None)
    variable = answer_type is not None and answer_type is not expected_type
    if type(value) is expected_type:
        if inner_type is None:
            return True, variable
        for candidate in allowed:
            if type(candidate) is not list or all(type_ok(item, candidate, inner_type, None)[0] for item in value):
                return True, variable
        return False, variable
    if answer_type is not None and type(value) is answer_type:
        return True, True
    return False, variable


def normalize(text: str) -> str:
    """BFCL's string comparison form: no spaces or `,./-_*^`, lower case, `'` read as `"`."""
    return _IGNORED.sub("", text).lower().replace("'", '"')


def _normal_items(values: Any) -> list:
    """Strings among `values` normalised (a string is taken as its characters, as BFCL indexes it)."""
    values = values if isinstance(values, (list, tuple, str)) else [values]
    return [normalize(v) if type(v) is str else v for v in values]


def _may_be_missing(values: Any) -> bool:
    return "" in values if isinstance(values, (list, tuple, str)) else False


def list_matches(value: list, allowed: list) -> bool:
    """The list, its top-level strings normalised, equals one allowed list (an allowed `""` is the empty
    list: an optional list parameter may be given as [])."""
    candidates = [_normal_items(a) for a in allowed if isinstance(a, (list, str))]
    return _normal_items(value) in candidates


def dict_matches(value: Any, allowed: list) -> bool:
    """The dict matches one allowed dict: each of its keys is allowed with one of that key's values
    (strings normalised), and every allowed key it lacks may be missing (`""` among its values)."""
    if not isinstance(value, dict):
        return False
    for candidate in allowed:
        if candidate == "" or not isinstance(candidate, dict):
            continue
        keys_ok = all(key in candidate and (normalize(item) if type(item) is str else item)
                      in _normal_items(candidate[key]) for key, item in value.items())
        if keys_ok and all(key in value or _may_be_missing(values) for key, values in candidate.items()):
            return True
    return False


def dict_list_matches(value: list, allowed: list) -> bool:
    """A list of dicts equals one allowed list element by element (each element as `dict_matches`)."""
    for candidate in allowed:
        if isinstance(candidate, (list, str)) and len(value) == len(candidate) and \
                all(dict_matches(item, [want]) for item, want in zip(value, candidate)):
            return True
    return False


def _in_allowed(where: str, value: Any, allowed: list) -> Verdict:
    return _verdict(value in allowed, where, value, allowed)


def _verdict(ok: bool, where: str, value: Any, allowed: list) -> Verdict:
    if ok:
        return PASS
    return fail("wrong_value", f"{where}: {_short(value)} is not one of {_short(allowed)}")


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", str: "string", int: "integer", float: "float", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"

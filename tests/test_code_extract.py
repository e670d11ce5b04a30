"""Code extraction from chat responses: fence styles, several blocks, bodies, bare code, prose."""

from evalharness.graders.code.extract import assemble, extract_code, extract_program, prompt_preamble

PROMPT = ('from typing import List\n\n\ndef helper(x):\n    return x\n\n\n'
          'def add(a: int, b: int) -> int:\n    """Add."""\n')
FUNC = "def add(a, b):\n    return a + b\n"


def test_python_fence():
    assert extract_code(f"Here you go:\n```python\n{FUNC}```\nThis adds.", "add") == FUNC


def test_py_and_bare_and_tilde_fences():
    for fence in ("```py", "```", "~~~python", "```Python", "``` python"):
        close = "~~~" if fence.startswith("~") else "```"
        assert extract_code(f"Sure.\n{fence}\n{FUNC}{close}\n", "add") == FUNC, fence


def test_unterminated_fence_is_taken_to_the_end():
    assert extract_code(f"```python\n{FUNC}", "add") == FUNC


def test_block_defining_entry_point_wins():
    response = f"```python\nimport math\n```\n```python\n{FUNC}```\n```python\nprint(add(1, 2))\n```"
    code = extract_code(response, "add")
    assert code.endswith(FUNC) and code.startswith("import math") and "print" not in code


def test_last_defining_block_wins_over_earlier_draft():
    draft = "def add(a, b):\n    return a - b\n"
    namespace: dict = {}
    exec(extract_code(f"```python\n{draft}```\nOops, fixed:\n```python\n{FUNC}```", "add"), namespace)
    assert namespace["add"](2, 3) == 5


def test_non_python_fences_ignored():
    response = f"```bash\npip install nothing\n```\n```python\n{FUNC}```\n```text\n3\n```"
    assert extract_code(response, "add") == FUNC


def test_no_fence_with_prose_around():
    response = f"The function is below.\n\n{FUNC}\nIt returns the sum of a and b."
    assert extract_code(response, "add") == FUNC


def test_main_guard_removed():
    response = f"```python\n{FUNC}\nif __name__ == \"__main__\":\n    print(add(input(), 2))\n```"
    code = extract_code(response, "add")
    assert "__main__" not in code and "def add" in code


def test_empty_and_prose_only():
    assert extract_code("", "add") == ""
    assert extract_code("I cannot help with that.", "add") == ""


def test_body_only_is_assembled_under_the_prompt():
    code = extract_code("```python\n    return a + b\n```", "add")
    program = assemble(code, PROMPT, "add")
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["add"](2, 3) == 5


def test_unindented_body_is_indented():
    program = assemble(extract_code("```python\nreturn a + b\n```", "add"), PROMPT, "add")
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["add"](2, 3) == 5


def test_full_function_keeps_prompt_helpers_and_imports():
    code = "def add(a, b):\n    return helper(a) + b if List else 0\n"
    program = assemble(extract_code(f"```python\n{code}```", "add"), PROMPT, "add")
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["add"](2, 3) == 5
    assert '"""Add."""' not in program  # the prompt's stub was dropped


def test_prompt_preamble_stops_before_entry_point():
    assert prompt_preamble(PROMPT, "add").rstrip().endswith("return x")


def test_helper_block_before_the_entry_point_is_kept():
    response = ("First a helper:\n```python\nimport math\n\ndef double(x):\n    return 2 * x\n```\n"
                "Then:\n```python\ndef add(a, b):\n    return double(a) // 2 + b + math.floor(0.5)\n```\n"
                "Usage:\n```python\nprint(add(1, 2))\n```")
    namespace: dict = {}
    exec(extract_code(response, "add"), namespace)
    assert namespace["add"](2, 3) == 5


def test_unfenced_body_with_prose_after():
    code = extract_code("Here is the body:\n    total = a + b\n    return total\n\nThat is all.", "add")
    program = assemble(code, PROMPT, "add")
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["add"](2, 3) == 5


def test_raw_completion_keeps_top_level_code_after_the_body():
    program = extract_program("    return helper(a) + b\n\nCONSTANT = 7\n", PROMPT, "add")
    namespace: dict = {}
    exec(program, namespace)
    assert namespace["add"](2, 3) == 5 and namespace["CONSTANT"] == 7


def test_raw_full_function_and_prose_first():
    for response in (FUNC, f"Here is my answer:\n{FUNC}\nDone.", f"{FUNC}\nThis works for all inputs."):
        namespace: dict = {}
        exec(extract_program(response, PROMPT, "add"), namespace)
        assert namespace["add"](2, 3) == 5, response

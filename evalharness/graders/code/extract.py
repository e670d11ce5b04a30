"""Turn a chat response into a runnable candidate program.

`extract_code(response, entry_point)` finds the code a model meant: fenced blocks (``` or ~~~, with
python/py/python3 or no language; an unterminated last fence counts, since responses get cut at
max_tokens), preferring among several the last one that defines `entry_point`; with no fence, the
longest stretch of lines that parses as Python and starts at a code-looking line. Top-level
`if __name__ == "__main__":` blocks are dropped (the sandbox runs programs as __main__, and such blocks
typically read stdin or run demos).
`assemble(code, prompt, entry_point)` makes the candidate program: a full function goes after the
prompt's preamble (its imports and helpers, minus the stub of the entry point); a bare body is indented
under the prompt's signature.
`extract_program(response, prompt, entry_point)` is the whole path for prompt-completion tasks: with no fence,
the response is first read as a raw completion (`prompt + response`, trailing prose dropped), the
classic HumanEval format, before falling back to `extract_code` + `assemble`.
"""

from __future__ import annotations

import ast
import re
import textwrap
import warnings

# ast.parse of model output may warn about invalid escape sequences; those warnings are about the
# model's code, not ours (they carry the pseudo-module "<unknown>").
for _category in (DeprecationWarning, SyntaxWarning):
    warnings.filterwarnings("ignore", category=_category, module="<unknown>")

FENCE = re.compile(
    r"(?P<fence>`{3,}|~{3,})[ \t]*(?P<lang>[\w+#.-]*)[^\n]*\n(?P<body>.*?)(?:\n[ \t]*(?P=fence)[ \t]*(?=\n|$)|\Z)",
    re.S,
)
PYTHON_LANGS = {"", "python", "py", "python3", "py3", "pycon", "ipython"}
CODE_START = re.compile(r"^(?:from\s+\w|import\s+\w|def\s+\w|class\s+\w|@\w|async\s+def\s)")


def fenced_blocks(response: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, in order."""
    return [(m.group("lang").lower(), m.group("body")) for m in FENCE.finditer(response)]


def defines(code: str, name: str) -> bool:
    return re.search(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\s*\(", code, re.M) is not None


def extract_code(response: str, entry_point: str | None = None) -> str:
    """The code the response meant (possibly empty)."""
    blocks = [(lang, body) for lang, body in fenced_blocks(response) if lang in PYTHON_LANGS]
    if blocks:
        code = _pick(blocks, entry_point)
    else:
        code = _unfenced(response)
    return strip_main_guard(textwrap.dedent(code)).strip("\n") + "\n" if code.strip() else ""


def _pick(blocks: list[tuple[str, str]], entry_point: str | None) -> str:
    """The block that defines the entry point (the last such: models revise), preceded by the earlier
    blocks that only define things (imports, helpers); else the longest block."""
    bodies = [body for _, body in blocks]
    chosen = None
    if entry_point:
        defining = [i for i, b in enumerate(bodies) if defines(b, entry_point)]
        chosen = defining[-1] if defining else None
    if chosen is None:
        typed = [body for lang, body in blocks if lang]
        return max(typed or bodies, key=len)
    helpers = [textwrap.dedent(b) for b in bodies[:chosen] if _definitions_only(b)]
    return "\n\n".join(helpers + [textwrap.dedent(bodies[chosen])])


def _definitions_only(code: str) -> bool:
    try:
        tree = ast.parse(textwrap.dedent(code))
    except (SyntaxError, ValueError):
        return False
    allowed = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return bool(tree.body) and all(isinstance(node, allowed) for node in tree.body)


def _unfenced(response: str) -> str:
    """No fence: from the first code-looking (or indented) line, the longest run of lines that parses."""
    lines = response.splitlines()
    code_start = next((i for i, line in enumerate(lines) if CODE_START.match(line)), None)
    indented = next((i for i, line in enumerate(lines) if line[:1] in (" ", "\t") and line.strip()), None)
    starts = sorted({i for i in (code_start, indented, 0) if i is not None})
    for start in starts:
        for end in range(len(lines), start, -1):
            chunk = textwrap.dedent("\n".join(lines[start:end]))
            if chunk.strip() and _parses(chunk):
                return chunk
    return ""


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def strip_main_guard(code: str) -> str:
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return code
    lines = code.splitlines()
    for node in reversed(tree.body):
        if isinstance(node, ast.If) and "__name__" in ast.unparse(node.test) and "__main__" in ast.unparse(node.test):
            del lines[node.lineno - 1:node.end_lineno]
    return "\n".join(lines)


def prompt_preamble(prompt: str, entry_point: str) -> str:
    """The prompt without the entry point's stub: imports, constants and helper functions it relies on."""
    try:
        tree = ast.parse(prompt.rstrip() + "\n    pass\n")
    except SyntaxError:
        return ""
    lines = prompt.splitlines()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == entry_point:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            return "\n".join(lines[: first - 1]).rstrip() + "\n"
    return ""


def assemble(code: str, prompt: str | None, entry_point: str | None) -> str:
    """The candidate program for a prompt-completion task (HumanEval style)."""
    if not prompt or not entry_point:
        return code
    if defines(code, entry_point):
        preamble = prompt_preamble(prompt, entry_point)
        return f"{preamble}\n{code}" if preamble.strip() else code
    body = code if _indented(code) else textwrap.indent(code, "    ")
    return prompt.rstrip("\n") + "\n" + body


def _indented(code: str) -> bool:
    first = next((line for line in code.splitlines() if line.strip()), "")
    return first[:1] in (" ", "\t")


def extract_program(response: str, prompt: str | None, entry_point: str | None) -> str:
    """The candidate program for a prompt-completion task ("" when the response holds no code)."""
    has_fence = any(lang in PYTHON_LANGS for lang, _ in fenced_blocks(response))
    if prompt and entry_point and not has_fence:
        raw = _raw_completion(response, prompt)
        if raw:
            return raw
    code = extract_code(response, entry_point)
    return assemble(code, prompt, entry_point) if code else ""


def _raw_completion(response: str, prompt: str) -> str:
    """`prompt + response` when it parses, dropping trailing lines (prose) until it does; else ""."""
    lines = response.rstrip().splitlines()
    for end in range(len(lines), 0, -1):
        body = "\n".join(lines[:end])
        if body.strip() and _parses(prompt + body):
            return strip_main_guard(prompt + body).rstrip("\n") + "\n"
    return ""

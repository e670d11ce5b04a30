"""Function calling: how functions are offered to a model and how its calls are read back.

Two tool modes (`TOOL_MODES`), chosen per run (`--tool-mode`) or per endpoint profile (`tool_mode:`):

- `native`: the functions go in the request's `tools` (OpenAI format; `schema.openai_tools` turns BFCL's
  Python-ish parameter types into JSON Schema and function names into ones OpenAI accepts); the calls are
  the response's `tool_calls`, and text that merely looks like a call is not a call.
- `prompt`: the harness writes the functions into the system message in Phi-4-mini's own format and sends
  no `tools`; the calls are read out of the response text (`phi_format`). This is what the model card
  documents, and the only way for backends without a tools API (the in-process llama.cpp provider).

The suite names the item field that holds the functions (`prompt.tools.field`); `prompts.Prompter` renders
them for the run's mode, and the grader (`graders/tools/`) reads the calls the same mode produced.
"""

from __future__ import annotations

TOOL_MODES = ("native", "prompt")
DEFAULT_TOOL_MODE = "native"
DEFAULT_TOOL_SYSTEM = "You are a helpful assistant with some tools."  # the prompt mode's system text (BFCL's)

"""A toy provider, as docs/extending.md builds it: an offline "model" that adds the numbers in the question.

One file is all a provider needs; a profile names it by path (`provider: path/to/toy_provider.py:Adder`)
and gives its settings under `options:`. It answers like a chat model would, so every suite, grader, cache
and report works with it unchanged.
"""

import asyncio
import re
from typing import Any

from evalharness.chat import ChatRequest, ChatResponse
from evalharness.schema import Strict


class AdderOptions(Strict):
    wrong_every: int = 0  # answer every Nth question wrong (0: never), to see grading catch it
    delay_s: float = 0.0


class Adder:
    name = "adder"
    Options = AdderOptions

    @classmethod
    def from_endpoint(cls, endpoint: Any, options: AdderOptions) -> "Adder":
        return cls(options)

    def __init__(self, options: AdderOptions):
        self.options = options
        self.requests = 0

    def identity(self) -> dict[str, Any]:
        return {"provider": self.name, "wrong_every": self.options.wrong_every}  # what changes the answers

    def describe(self) -> dict[str, Any]:
        return {"provider": self.name, "model": "adder", "base_url": None}

    async def complete(self, request: ChatRequest, worker: int = 0) -> ChatResponse:
        await asyncio.sleep(self.options.delay_s)
        self.requests += 1
        question = next((m["content"] for m in reversed(request.messages)
                         if m["role"] == "user" and re.search(r"\d", m["content"] or "")), "")
        total = sum(int(n) for n in re.findall(r"\d+", question))
        if self.options.wrong_every and self.requests % self.options.wrong_every == 0:
            total += 1
        text = f"Adding the numbers gives {total}. The answer is {total}."
        return ChatResponse(content=text, finish_reason="stop",
                            usage={"prompt_tokens": len(question.split()), "completion_tokens": len(text.split())})

    def stats(self) -> dict[str, int]:
        return {"requests": self.requests, "retries": 0}

    def notice(self) -> str | None:
        return None

    async def aclose(self) -> None:
        pass

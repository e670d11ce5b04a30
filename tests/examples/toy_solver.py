"""A toy multi-turn solver, as docs/extending.md builds it: ask, then ask the model to check itself, and
grade its last answer. Every turn goes through `generate`, so each is cached and counted."""

from evalharness.chat import ChatRequest
from evalharness.items import Item
from evalharness.solvers import Generate, Solver, SolverOptions, Transcript

CHECK = "Check your work, then give your final answer again."


class SelfCheckOptions(SolverOptions):
    rounds: int = 1


class SelfCheck(Solver):
    name = "self_check"
    Options = SelfCheckOptions

    async def solve(self, request: ChatRequest, item: Item, generate: Generate) -> Transcript:
        messages = list(request.messages)
        response = await generate(request)
        turns = [response]
        for _ in range(self.options.rounds):
            messages = [*messages, response.as_message(), {"role": "user", "content": CHECK}]
            response = await generate(ChatRequest(messages, request.params, request.sample_index, request.tools))
            turns.append(response)
        return Transcript(messages, response, turns)

"""CPU per LLM call, client side, for the ways FaultMaven could drive a turn (the query-turn issue's choice).

A fake OpenAI-compatible LLM runs as a separate process (answering at once), so this process's CPU time is
the client's alone. Each variant makes the same single-request turn (instructions, the agent's tools, the
structured answer offered as an output tool, a plain text reply), `--calls` times, interleaved in rounds so
drift hits all alike. The baseline is the OpenAI SDK's own call: every ratio is against it.

Variants:
- openai SDK: a stock `AsyncOpenAI`'s `chat.completions.create` with the same tool schemas (what any client
  pays);
- lean client (ours): the same call on the `LeanAsyncOpenAI` the router's model uses (`openai_client.py`);
- direct model_request: `pydantic_ai.direct.model_request` with prebuilt request parameters, bare;
- router: `LLMRouter.generate`, the path of a synchronous query (our tool loop on the direct API, over the
  failover chain with breakers and the budget, plan built once);
- router, streamed: the same with a stream handler, the path of an SSE query;
- Agent.run, prebuilt: a pydantic-ai `Agent` over the same `FallbackModel`, built once (the alternative);
- Agent.run, built per call: a new `Agent` and `FallbackModel` per call (the old main's path).

Usage: .venv/bin/python bench/bench_llm_path.py [--calls 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _server import BenchStack, fmt, markdown_table, terminate_on_signals
from openai import AsyncOpenAI
from pydantic_ai import Agent, Tool
from pydantic_ai.direct import model_request
from pydantic_ai.messages import ModelRequest
from pydantic_ai.models import ModelRequestParameters, create_async_httpx2_client
from pydantic_ai.models.fallback import FallbackModel
from pydantic_ai.tools import ToolDefinition

from faultmaven.infrastructure.llm.router import LLMRouter
from faultmaven.models.interfaces import LLMCall, StreamEvent, ToolContext, ToolResult
from faultmaven.services.agent.output import AGENT_INSTRUCTIONS, AgentAnswer
from faultmaven.tools.knowledge_search import KnowledgeSearchArgs

PROMPT = "Checkout p99 latency jumped from 200 ms to 4 s after the 14:02 deploy; where do I start?"


class _Tool:
    """A tool with the knowledge-search schema; the fake LLM never calls it."""

    name = "search_knowledge_base"
    description = "Search the team's runbooks and past cases."
    args_model = KnowledgeSearchArgs

    async def execute(self, context: ToolContext, args: object) -> ToolResult:
        return ToolResult(text="")


def variants(base_url: str) -> tuple[dict[str, Callable[[], Awaitable[object]]], LLMRouter]:
    environ = {
        "FAULTMAVEN_LLM_PROVIDERS": "primary=openai:fake-model",
        "FAULTMAVEN_LLM_PRIMARY_BASE_URL": base_url,
        "FAULTMAVEN_LLM_PRIMARY_API_KEY": "x",
    }
    router = LLMRouter.from_environ(environ)
    model = router._providers[0].model  # the provider's own model, as the router built it
    tool = _Tool()
    call = LLMCall(instructions=AGENT_INSTRUCTIONS, prompt=PROMPT, output_type=AgentAnswer, tools=[tool])

    async def ignore(event: StreamEvent) -> None:
        return None

    streamed = LLMCall(instructions=AGENT_INSTRUCTIONS, prompt=PROMPT, output_type=AgentAnswer, tools=[tool],
                       on_stream=ignore)
    schema = {"type": "function", "function": {"name": tool.name, "description": tool.description,
                                               "parameters": tool.args_model.model_json_schema()}}
    answer = {"type": "function", "function": {"name": "final_result", "description": "The final answer",
                                               "parameters": AgentAnswer.model_json_schema()}}
    stock = AsyncOpenAI(
        base_url=base_url, api_key="x", max_retries=0, http_client=create_async_httpx2_client()
    )
    lean = model.client  # type: ignore[attr-defined]
    parameters = ModelRequestParameters(
        function_tools=[ToolDefinition(name=tool.name, description=tool.description,
                                       parameters_json_schema=tool.args_model.model_json_schema())],
        output_tools=[ToolDefinition(name="final_result", description="The final answer",
                                     parameters_json_schema=AgentAnswer.model_json_schema())],
        output_mode="tool",
        allow_text_output=True,
    )
    messages = [ModelRequest.user_text_prompt(PROMPT, instructions=AGENT_INSTRUCTIONS)]

    def sdk(client: AsyncOpenAI) -> Callable[[], Awaitable[object]]:
        return lambda: client.chat.completions.create(
            model="fake-model",
            messages=[{"role": "system", "content": AGENT_INSTRUCTIONS}, {"role": "user", "content": PROMPT}],
            tools=[schema, answer],
        )

    async def direct() -> object:
        return await model_request(model, messages, model_request_parameters=parameters)

    def agent() -> Agent[None, object]:
        return Agent(FallbackModel(model), output_type=[AgentAnswer, str], instructions=AGENT_INSTRUCTIONS,
                     tools=[Tool.from_schema(lambda **_: "", name=tool.name, description=tool.description,
                                             json_schema=tool.args_model.model_json_schema())])

    prebuilt = agent()

    return {
        "openai SDK": sdk(stock),
        "lean client (ours)": sdk(lean),
        "direct model_request": direct,
        "router": lambda: router.generate(call),
        "router, streamed": lambda: router.generate(streamed),
        "Agent.run, prebuilt": lambda: prebuilt.run(PROMPT),
        "Agent.run, built per call": lambda: agent().run(PROMPT),
    }, router


async def measure(base_url: str, calls: int) -> dict[str, float]:
    runs, router = variants(base_url)
    for run in runs.values():
        for _ in range(5):
            await run()
    cpu = dict.fromkeys(runs, 0.0)
    for _ in range(calls):
        for name, run in runs.items():
            started = time.process_time()
            await run()
            cpu[name] += time.process_time() - started
    await router.aclose()
    return {name: seconds / calls * 1000 for name, seconds in cpu.items()}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with terminate_on_signals(), BenchStack() as stack:
        llm = stack.start_fake_llm(0)
        results = asyncio.run(measure(llm.base_url, args.calls))
    floor = results["openai SDK"]
    rows = [[name, fmt(ms), fmt(ms / floor)] for name, ms in results.items()]
    print(markdown_table(["variant", "CPU ms per call", "x openai SDK"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())

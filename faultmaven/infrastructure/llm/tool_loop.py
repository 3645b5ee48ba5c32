"""The loop of one LLM turn: ask the model, run the tools it calls, ask again, until it answers.

It drives pydantic-ai's direct model API (`pydantic_ai.direct.model_request` / `model_request_stream`, one
call per step, through the router's failover chain) rather than its `Agent` graph: measured on the same
fake LLM, an `Agent.run` costs about three times the CPU of a direct request for the same single-step turn
(`bench/bench_llm_path.py`), more than the whole query budget. What the agent did for us is here, small:
tool calls validated and run (a repeated identical call answered from the first result), invalid arguments
or output sent back for one retry, the structured answer validated, plain text accepted as the answer
(small local models often answer in prose), and a request limit over the whole turn. An answer the model
stopped at its output-token cap (`finish_reason: length`) is returned marked `truncated`, with what it wrote.

A `TurnPlan` (instructions, tool definitions, output schema) is built once per kind of call and reused by
every turn; per turn only the messages and the `Toolbox` are new.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_ai.direct import model_request, model_request_stream
from pydantic_ai.exceptions import UnexpectedModelBehavior, UsageLimitExceeded
from pydantic_ai.messages import (
    InstructionPart,
    ModelMessage,
    ModelRequest,
    ModelResponse,
    RetryInfo,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
)
from pydantic_ai.models import Model, ModelRequestParameters
from pydantic_ai.tools import ToolDefinition
from pydantic_ai.usage import RunUsage

from faultmaven.infrastructure.llm.errors import StreamBroken
from faultmaven.infrastructure.llm.streaming import OUTPUT_TOOL_NAME, AnswerStream, answer_field
from faultmaven.models.interfaces import BaseTool, LLMCall, ToolCallRecord, ToolContext, ToolResult

logger = logging.getLogger(__name__)

MAX_RETRIES = 1
"""Retries the model gets per tool, and for its structured answer, after an invalid call (as pydantic-ai's
agent defaults)."""


@dataclass(frozen=True)
class TurnPlan:
    """What every turn of one kind of call shares: instructions, tool definitions, the output's schema."""

    instructions: str
    output_type: type[BaseModel] | type[str]
    parameters: ModelRequestParameters

    @classmethod
    def for_call(cls, call: LLMCall) -> TurnPlan:
        if call.output_type is str:
            return cls.text_only(call)
        return cls.structured(call)

    @classmethod
    def text_only(cls, call: LLMCall) -> TurnPlan:
        """Plain text out, no output tool (the compact profile: small models cannot use the schema)."""
        tools = [_tool_definition(tool) for tool in call.tools]
        parameters = ModelRequestParameters(
            function_tools=tools,
            output_mode="text",
            allow_text_output=True,
            instruction_parts=[InstructionPart(content=call.instructions)],
        )
        return cls(call.instructions, str, parameters)

    @classmethod
    def structured(cls, call: LLMCall) -> TurnPlan:
        assert call.output_type is not str
        tools = [_tool_definition(tool) for tool in call.tools]
        output = ToolDefinition(
            name=OUTPUT_TOOL_NAME,
            description=(call.output_type.__doc__ or "The final response").strip(),
            parameters_json_schema=call.output_type.model_json_schema(),
        )
        parameters = ModelRequestParameters(
            function_tools=tools,
            output_tools=[output],
            output_mode="tool",
            allow_text_output=True,
            instruction_parts=[InstructionPart(content=call.instructions)],
        )
        return cls(call.instructions, call.output_type, parameters)

    @staticmethod
    def key(call: LLMCall) -> tuple[Any, ...]:
        """Calls with the same instructions, output and tools share one plan."""
        tools = tuple((tool.name, tool.description, tool.args_model) for tool in call.tools)
        return call.instructions, call.output_type, tools


def _tool_definition(tool: BaseTool[Any]) -> ToolDefinition:
    return ToolDefinition(
        name=tool.name,
        description=tool.description,
        parameters_json_schema=tool.args_model.model_json_schema(),
    )


class Toolbox:
    """The tools of one turn. Arguments are validated with the tool's own `args_model`, and an identical
    repeated call (same name and arguments) is answered from the first result, not run again."""

    def __init__(self, tools: Sequence[BaseTool[Any]], context: ToolContext) -> None:
        self._tools = {tool.name: tool for tool in tools}
        self._context = context
        self._calls: dict[str, asyncio.Task[ToolResult]] = {}
        self.records: list[ToolCallRecord] = []

    def __contains__(self, name: str) -> bool:
        return name in self._tools

    async def call(self, name: str, kwargs: dict[str, Any]) -> ToolResult:
        """The tool's result; ValueError (for the model to read) when the arguments do not validate."""
        tool = self._tools[name]
        key = json.dumps([name, kwargs], sort_keys=True, default=str)
        if key not in self._calls:
            args = _validated_args(tool, kwargs)
            self._calls[key] = asyncio.create_task(self._execute(tool, args, kwargs))
        return await self._calls[key]

    async def _execute(self, tool: BaseTool[Any], args: BaseModel, kwargs: dict[str, Any]) -> ToolResult:
        try:
            result = await tool.execute(self._context, args)
        except Exception:
            logger.exception("tool %s failed", tool.name)
            result = ToolResult(text=f"The tool {tool.name} failed; try another approach.")
        self.records.append(ToolCallRecord(name=tool.name, args=kwargs, result=result))
        return result


def _validated_args(tool: BaseTool[Any], kwargs: dict[str, Any]) -> BaseModel:
    try:
        return tool.args_model.model_validate(kwargs)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors()
        )
        raise ValueError(f"Invalid arguments for {tool.name}: {problems}") from exc


@dataclass
class LoopResult:
    output: BaseModel | str
    usage: RunUsage = field(default_factory=RunUsage)
    truncated: bool = False


class InvalidOutput(UnexpectedModelBehavior):
    """The model's output stayed invalid after its retry; the message says what was invalid."""


class ToolLoop:
    """One turn: `run(prompt)` until the model answers, within `request_limit` model requests."""

    def __init__(
        self, model: Model, plan: TurnPlan, toolbox: Toolbox, request_limit: int,
        answer: AnswerStream | None = None,
    ) -> None:
        self._model = model
        self._plan = plan
        self._toolbox = toolbox
        self._request_limit = request_limit
        self._answer = answer
        self._usage = RunUsage()
        self._retries: Counter[str] = Counter()

    async def run(self, prompt: str) -> LoopResult:
        first = ModelRequest.user_text_prompt(prompt, instructions=self._plan.instructions)
        messages: list[ModelMessage] = [first]
        while True:
            response = await self._step(messages)
            messages.append(response)
            if response.finish_reason == "length":
                return self._truncated(response)
            calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
            if not calls:
                text = "".join(part.content for part in response.parts if isinstance(part, TextPart))
                return LoopResult(text, self._usage)
            answer = next((call for call in calls if call.tool_name == OUTPUT_TOOL_NAME), None)
            if answer is not None and self._plan.output_type is not str:
                output = self._validated_output(answer)
                if output is not None:
                    return LoopResult(output, self._usage)
                returns = [self._output_retry(answer), *(_not_run(c) for c in calls if c is not answer)]
            else:
                returns = list(await asyncio.gather(*(self._run_tool(call) for call in calls)))
            messages.append(ModelRequest(parts=returns))

    def _truncated(self, response: ModelResponse) -> LoopResult:
        """What the model wrote before its output-token cap: its structured answer if that still validates,
        else the answer text so far (plain text, or the partial `content` of the output tool's arguments).
        A cut-off call of another tool cannot be run, so the turn ends with the text written so far."""
        text = "".join(part.content for part in response.parts if isinstance(part, TextPart))
        calls = [part for part in response.parts if isinstance(part, ToolCallPart)]
        answer = next((call for call in calls if call.tool_name == OUTPUT_TOOL_NAME), None)
        if answer is not None and self._plan.output_type is not str:
            output = self._validated_output(answer)
            if output is not None:
                return LoopResult(output, self._usage, truncated=True)
            text = text or answer_field(answer.args if isinstance(answer.args, dict) else answer.args or "")
        return LoopResult(text, self._usage, truncated=True)

    async def _step(self, messages: list[ModelMessage]) -> ModelResponse:
        """One model request (counted against the limit); a stream that broke mid-way is asked again."""
        while True:
            if self._usage.requests >= self._request_limit:
                raise UsageLimitExceeded(f"The next request would exceed the limit of {self._request_limit}")
            self._usage.requests += 1
            try:
                response = await self._request(messages)
            except StreamBroken as broken:
                assert self._answer is not None
                await self._answer.reset(broken.alias, broken.reason)
                continue
            self._usage.input_tokens += response.usage.input_tokens
            self._usage.output_tokens += response.usage.output_tokens
            return response

    async def _request(self, messages: list[ModelMessage]) -> ModelResponse:
        parameters = self._plan.parameters
        if self._answer is None:
            return await model_request(self._model, messages, model_request_parameters=parameters)
        async with model_request_stream(self._model, messages, model_request_parameters=parameters) as stream:
            await self._answer.consume(stream)
        return stream.get()

    def _validated_output(self, call: ToolCallPart) -> BaseModel | None:
        try:
            return self._output_model.model_validate(call.args_as_dict(raise_if_invalid=True))
        except (ValidationError, ValueError):
            return None

    @property
    def _output_model(self) -> type[BaseModel]:
        output_type = self._plan.output_type
        assert output_type is not str and issubclass(output_type, BaseModel)
        return output_type

    def _output_retry(self, call: ToolCallPart) -> ToolReturnPart:
        try:
            self._output_model.model_validate(call.args_as_dict(raise_if_invalid=True))
        except ValidationError as exc:
            problems = json.dumps(exc.errors(include_url=False, include_input=False), default=str)
        except ValueError as exc:
            problems = f"The arguments are not valid JSON: {exc}"
        return self._retry(call, problems)

    async def _run_tool(self, call: ToolCallPart) -> ToolReturnPart:
        if call.tool_name not in self._toolbox:
            return self._retry(call, f"Unknown tool name: {call.tool_name!r}.")
        try:
            result = await self._toolbox.call(call.tool_name, call.args_as_dict(raise_if_invalid=True))
        except ValueError as exc:
            return self._retry(call, str(exc))
        return ToolReturnPart(tool_name=call.tool_name, content=result.text, tool_call_id=call.tool_call_id)

    def _retry(self, call: ToolCallPart, problem: str) -> ToolReturnPart:
        """Send the problem back to the model for its one retry; past it the model's output is unusable."""
        self._retries[call.tool_name] += 1
        if self._retries[call.tool_name] > MAX_RETRIES:
            what = f"invalid call of {call.tool_name} after {MAX_RETRIES} retry: {problem[:300]}"
            raise InvalidOutput(what)
        return ToolReturnPart(
            tool_name=call.tool_name,
            content=f"{problem}\n\nFix the errors and try again.",
            tool_call_id=call.tool_call_id,
            outcome="retried",
            retry=RetryInfo(cause="validation_error", attempt=self._retries[call.tool_name],
                            max_retries=MAX_RETRIES),
        )


def _not_run(call: ToolCallPart) -> ToolReturnPart:
    """A tool call beside the final answer: the answer ends the turn, the call is not run."""
    return ToolReturnPart(
        tool_name=call.tool_name, content="Tool not executed - a final result was already processed.",
        tool_call_id=call.tool_call_id,
    )

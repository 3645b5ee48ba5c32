"""`LeanAsyncOpenAI`: the OpenAI SDK client whose `chat.completions.create` posts its arguments as given.

The SDK's own `create` runs every request body through `async_maybe_transform`, a generic walk of the body
against the request's TypedDicts that renames aliased keys and formats dates and files. The chat-completions
request types declare no alias and no format, and pydantic-ai hands the SDK bodies already in wire shape
(lists of plain dicts), so the walk changes nothing: it only costs about a tenth of a query's CPU (measured
with py-spy on `bench/bench_queries.py`). Everything else stays the SDK's: request building, auth headers,
the HTTP client we own, error mapping, response parsing and the `AsyncStream` of chunks.
"""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI, AsyncStream
from openai._base_client import make_request_options
from openai._compat import cached_property
from openai._utils import is_given
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletion, ChatCompletionChunk

_REQUEST_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")


class _LeanCompletions(AsyncCompletions):
    async def create(self, **arguments: Any) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:  # type: ignore[override]
        """POST `/chat/completions` with the given (non-omitted) arguments as the body, untransformed."""
        options = {name: arguments.pop(name) for name in _REQUEST_OPTIONS if name in arguments}
        body = {key: value for key, value in arguments.items() if is_given(value)}
        return await self._post(
            "/chat/completions",
            body=body,
            options=make_request_options(**options, security={"bearer_auth": True}),
            cast_to=ChatCompletion,
            stream=bool(body.get("stream")),
            stream_cls=AsyncStream[ChatCompletionChunk],
        )


class _LeanChat(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return _LeanCompletions(self._client)


class LeanAsyncOpenAI(AsyncOpenAI):
    """`AsyncOpenAI` whose `chat.completions.create` sends its body untransformed (see the module doc)."""

    @cached_property
    def chat(self) -> AsyncChat:  # type: ignore[override]
        return _LeanChat(self)

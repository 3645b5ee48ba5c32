"""`LeanAsyncOpenAI`: the OpenAI SDK client with a short path for `chat.completions.create`.

The SDK's `create` costs more CPU than the HTTP exchange it makes (py-spy on `bench/bench_queries.py`): it
walks the body against the request's TypedDicts (`async_maybe_transform`), builds a `FinalRequestOptions`
model, merges and validates headers, serializes with the standard `json` module, and parses the reply
through its generic response machinery. For chat completions the walk is an identity (the request types
declare no alias and no format, and pydantic-ai hands over bodies already in wire shape) and the headers
are the same on every request, so:

- the body is posted as given (with `extra_body` merged, as the SDK does), serialized by pydantic-core;
- the headers (auth, the SDK's defaults) are built once by the SDK itself, per client;
- a non-streamed reply is read and turned into a `ChatCompletion` by the SDK's own `_process_response_data`;
- failures become the SDK's exceptions exactly as the SDK raises them (`APITimeoutError`,
  `APIConnectionError`, the `APIStatusError` subclass for the status), so pydantic-ai maps them unchanged;
- a streamed request still goes through the SDK's `_post`, for its `AsyncStream` of chunks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2
import pydantic_core
from openai import APIConnectionError, APITimeoutError, AsyncOpenAI, AsyncStream
from openai._base_client import make_request_options
from openai._compat import cached_property
from openai._httpx2 import request_exceptions, timeout_exceptions
from openai._models import FinalRequestOptions, add_request_id
from openai._types import NOT_GIVEN, Omit
from openai._utils import is_given
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions
from openai.types.chat import ChatCompletion, ChatCompletionChunk

_PATH = "/chat/completions"
_REQUEST_OPTIONS = ("extra_headers", "extra_query", "extra_body", "timeout")
_SECURITY: Any = {"bearer_auth": True}


class _LeanCompletions(AsyncCompletions):
    _client: LeanAsyncOpenAI

    async def create(self, **arguments: Any) -> ChatCompletion | AsyncStream[ChatCompletionChunk]:  # type: ignore[override]
        """POST `/chat/completions` with the given (non-omitted) arguments as the body, untransformed."""
        options = {name: arguments.pop(name) for name in _REQUEST_OPTIONS if name in arguments}
        body = {key: value for key, value in arguments.items() if is_given(value)}
        if not body.get("stream"):
            return await self._client.complete_chat(body, options)
        return await self._post(
            _PATH,
            body=body,
            options=make_request_options(**options, security=_SECURITY),
            cast_to=ChatCompletion,
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )


class _LeanChat(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return _LeanCompletions(self._client)


class LeanAsyncOpenAI(AsyncOpenAI):
    """`AsyncOpenAI` with the short path for `chat.completions.create` (see the module doc)."""

    @cached_property
    def chat(self) -> AsyncChat:  # type: ignore[override]
        return _LeanChat(self)

    @cached_property
    def _chat_url(self) -> httpx2.URL:
        return self._prepare_url(_PATH)

    @cached_property
    def _chat_headers(self) -> httpx2.Headers:
        """What the SDK would send with every chat completion: auth, its defaults, the client's own."""
        options = FinalRequestOptions.construct(method="post", url=_PATH, security=_SECURITY)
        return self._build_headers(options)

    async def complete_chat(self, body: dict[str, Any], options: Mapping[str, Any]) -> Any:
        """One non-streamed chat completion: a `ChatCompletion`, or the reply's text when it is not JSON
        (as the SDK returns it; pydantic-ai then reports an invalid response). `options` are the SDK's request
        options: `extra_headers`, `extra_query`, `extra_body`, `timeout`."""
        timeout = options.get("timeout", NOT_GIVEN)
        request = self._client.build_request(
            "POST",
            self._chat_url,
            params=options.get("extra_query"),
            headers=_with(self._chat_headers, options.get("extra_headers")),
            content=pydantic_core.to_json({**body, **(options.get("extra_body") or {})}),
            timeout=timeout if is_given(timeout) else self.timeout,
        )
        try:
            response = await self._client.send(request)
        except timeout_exceptions() as error:
            raise APITimeoutError(request=request) from error
        except request_exceptions() as error:
            raise APIConnectionError(request=request) from error
        if not response.is_success:
            raise self._make_status_error_from_response(response)
        return self._completion(response)

    def _completion(self, response: httpx2.Response) -> Any:
        """The reply as the SDK's `_parse` reads it: JSON into a `ChatCompletion`, other text as text."""
        try:
            data = response.json()
        except ValueError:
            if response.headers.get("content-type", "*").split(";")[0].endswith("json"):
                raise
            return response.text
        completion = self._process_response_data(data=data, cast_to=ChatCompletion, response=response)
        if isinstance(completion, ChatCompletion):
            add_request_id(completion, response.headers.get("x-request-id"))
        return completion


def _with(headers: httpx2.Headers, extra: Mapping[str, str | Omit] | None) -> httpx2.Headers:
    """`headers` with the request's own: a value replaces, an `Omit` removes."""
    if not extra:
        return headers
    merged = headers.copy()
    for name, value in extra.items():
        if isinstance(value, Omit):
            merged.pop(name, None)
        else:
            merged[name] = value
    return merged

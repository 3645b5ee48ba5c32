"""How a guarded provider tells the failover chain and the turn's loop that it is out of this turn."""

from __future__ import annotations

from pydantic_ai.exceptions import ModelAPIError


class ProviderUnavailable(ModelAPIError):
    """Raised by a guarded model to make the FallbackModel move on to the next provider."""


class StreamBroken(ProviderUnavailable):
    """A provider failed after its stream was handed over, too late for the FallbackModel to fail over.

    The turn's loop catches it and asks the same step again of the providers left."""

    def __init__(self, model_name: str, alias: str, reason: str) -> None:
        super().__init__(model_name, f"{alias}: {reason}")
        self.alias = alias
        self.reason = reason

"""Start-up in the ASGI lifespan: the server starts ready, or does not start at all.

A failure is reported to the server as one line (what is wrong, which setting, how to fix) with
`lifespan.startup.failed`, so uvicorn exits non-zero at once instead of serving 500s. `StartupError`
(`config/startup.py`) is how the start-up says which setting a failing step depends on.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from faultmaven.config.startup import StartupError, first_line


def failure_line(error: BaseException) -> str:
    if isinstance(error, StartupError):
        return str(error)
    return f"FaultMaven cannot start: {first_line(error)}"


def settings_error_line(error: ValidationError) -> str:
    """Invalid settings as one line naming each environment variable at fault."""
    problems = [
        f"FAULTMAVEN_{'_'.join(str(part) for part in item['loc']).upper()}: {item['msg']}"
        for item in error.errors(include_url=False)
    ]
    return f"FaultMaven cannot start: invalid settings: {'; '.join(problems)} (environment or .env file)"


class LifespanMiddleware:
    """Runs `start` on `lifespan.startup` and `stop` on `lifespan.shutdown`; other scopes pass through."""

    def __init__(
        self, app: ASGIApp, *, start: Callable[[], Awaitable[None]], stop: Callable[[], Awaitable[None]]
    ):
        self.app = app
        self.start = start
        self.stop = stop

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        await receive()
        try:
            await self.start()
        except Exception as error:
            await send({"type": "lifespan.startup.failed", "message": failure_line(error)})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await self.stop()
        await send({"type": "lifespan.shutdown.complete"})

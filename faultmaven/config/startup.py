"""How a start-up step that fails says so: one line naming what is wrong, the setting behind it, and the fix.

The lifecycle wraps each step that depends on a setting in `startup_step`; the ASGI lifespan and the CLI
print the resulting `StartupError` as that one line instead of a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class StartupError(Exception):
    """A start-up step failed: what is wrong, the setting behind it, and how to fix it, in one line."""

    def __init__(self, problem: str, setting: str, fix: str):
        super().__init__(f"FaultMaven cannot start: {problem} (check {setting}); {fix}")


def first_line(error: BaseException) -> str:
    """The error's type and first line: enough for one line of output, never a traceback."""
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0]}" if text else type(error).__name__


@contextmanager
def startup_step(setting: str, fix: str) -> Iterator[None]:
    """Names the setting behind a start-up step, so its failure reads as one actionable line."""
    try:
        yield
    except StartupError:
        raise
    except Exception as error:
        raise StartupError(first_line(error), setting, fix) from error

"""Running one CLI command's work on a container: built, migrated (or started), always stopped."""

from __future__ import annotations

import asyncio


def with_container(action, *, serve: bool = False):  # type: ignore[no-untyped-def]
    """Run `action(container)` on a container for one command. Only `serve`-like commands start the
    server's background work; the others just migrate, so that nothing is cut off mid-query at exit."""
    from faultmaven.container import Container
    from faultmaven.infrastructure.persistence.migrations import upgrade_to_head

    async def run():  # type: ignore[no-untyped-def]
        container = Container()
        if serve:
            await container.start()
        elif container.settings.migrate_on_start:
            await upgrade_to_head(container.database)
        try:
            return await action(container)
        finally:
            await container.stop()

    return asyncio.run(run())

"""BackgroundTasks: work tracked until it ends, failures logged, shutdown drains with a grace period."""

import asyncio

from structlog.testing import capture_logs

from faultmaven.infrastructure.background import BackgroundTasks


async def test_spawned_work_is_tracked_until_it_ends() -> None:
    tasks = BackgroundTasks("test")
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "done"

    task = tasks.spawn(work())
    await asyncio.sleep(0)
    assert len(tasks) == 1
    release.set()
    assert await task == "done"
    assert len(tasks) == 0


async def test_a_failure_is_logged_with_its_owner_and_context() -> None:
    tasks = BackgroundTasks("reports")

    async def broken() -> None:
        raise ValueError("no report")

    with capture_logs() as logs:
        tasks.spawn(broken(), case_id="case_1")
        await tasks.wait_idle()
    (entry,) = [log for log in logs if log["event"] == "background task failed"]
    assert entry["owner"] == "reports" and entry["case_id"] == "case_1"
    assert isinstance(entry["exc_info"], ValueError)
    assert len(tasks) == 0


async def test_drain_lets_work_that_finishes_within_the_grace_period_finish() -> None:
    tasks = BackgroundTasks("test", grace_seconds=5)
    finished: list[str] = []

    async def short() -> None:
        await asyncio.sleep(0.01)
        finished.append("short")

    task = tasks.spawn(short())
    await tasks.drain()
    assert finished == ["short"] and not task.cancelled()


async def test_drain_cancels_work_still_in_flight_after_the_grace_and_lets_it_unwind() -> None:
    tasks = BackgroundTasks("test", grace_seconds=30)
    unwound: list[str] = []
    never = asyncio.Event()

    async def stuck() -> None:
        try:
            await never.wait()
        except asyncio.CancelledError:
            await asyncio.sleep(0)
            unwound.append("marked interrupted")
            raise

    task = tasks.spawn(stuck())
    await asyncio.sleep(0)
    with capture_logs() as logs:
        await tasks.drain(grace_seconds=0.05)
    assert task.cancelled() and unwound == ["marked interrupted"]
    assert len(tasks) == 0
    assert not [log for log in logs if log["event"] == "background task failed"]


async def test_drain_with_no_grace_cancels_at_once_and_cancel_stops_loops() -> None:
    tasks = BackgroundTasks("loops", grace_seconds=0)
    ticks: list[int] = []

    async def loop() -> None:
        while True:
            ticks.append(1)
            await asyncio.sleep(0.001)

    first = tasks.spawn(loop())
    await asyncio.sleep(0.01)
    await tasks.drain()
    assert first.cancelled()
    second = tasks.spawn(loop())
    await asyncio.sleep(0)
    await tasks.cancel()
    assert second.cancelled() and len(tasks) == 0 and ticks


async def test_wait_idle_waits_for_work_spawned_meanwhile() -> None:
    tasks = BackgroundTasks("test")
    done: list[str] = []

    async def second() -> None:
        await asyncio.sleep(0.01)
        done.append("second")

    async def first() -> None:
        await asyncio.sleep(0.01)
        tasks.spawn(second())
        done.append("first")

    tasks.spawn(first())
    await tasks.wait_idle()
    assert done == ["first", "second"]


async def test_a_cancelled_waiter_leaves_the_work_running() -> None:
    tasks = BackgroundTasks("test")
    release = asyncio.Event()

    async def work() -> str:
        await release.wait()
        return "done"

    task = tasks.spawn(work())
    waiter = asyncio.create_task(tasks.wait_idle())
    await asyncio.sleep(0)
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert not task.done()
    release.set()
    assert await task == "done"

"""Background tasks run inside ``twostep serve`` (embedded mode: the outbox worker)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import anyio

from twostep.config import Settings
from twostep.services.runtime import Runtime

Task = Callable[[Runtime, anyio.Event], Awaitable[None]]


async def outbox_worker(rt: Runtime, stop: anyio.Event) -> None:
    from twostep.worker.setup import build_worker

    async with build_worker(rt) as worker:
        await worker.run(stop)


def background_tasks(settings: Settings) -> list[Task]:
    return [outbox_worker] if settings.runs_worker_in_process else []

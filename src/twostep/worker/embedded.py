"""Background tasks run inside ``twostep serve`` in embedded mode."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from twostep.config import Settings
from twostep.services.runtime import Runtime

Task = Callable[[Runtime], Awaitable[None]]


def background_tasks(settings: Settings) -> list[Task]:
    if not settings.runs_worker_in_process:
        return []
    from twostep.worker.runner import run_forever

    return [run_forever]

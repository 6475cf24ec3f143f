"""Build a worker with its providers and HTTP client from the runtime's settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from twostep.services.runtime import Runtime
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker


@asynccontextmanager
async def build_worker(rt: Runtime) -> AsyncIterator[Worker]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=10.0) as http:
        dispatcher = Dispatcher(rt, channels={}, handlers={})
        del http  # providers and callbacks are wired here as they land
        yield Worker(rt, dispatcher)

"""The ASGI application: routes, the JSON error pages for unknown paths and methods, and the
lifespan that runs the in-process worker in embedded mode."""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from twostep.api.endpoint import error_response, respond
from twostep.api.observe import ObservedApp
from twostep.api.routes import (
    admin,
    dashboard,
    device,
    device_links,
    health,
    onetouch,
    phones,
    tokens,
    users,
)
from twostep.api.routes import app as application
from twostep.api.wire.errors import envelope
from twostep.services import stats
from twostep.services.notify import listen_for_changes
from twostep.services.runtime import Runtime

log = logging.getLogger("twostep.api")


def _format_of(request: Request) -> str:
    parts = request.url.path.split("/")
    return "xml" if len(parts) > 2 and parts[2] == "xml" else "json"


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}"
    elif exc.status_code == 404:
        message = f"Not found: {request.method} {request.url.path}"
    else:
        message = exc.detail or "Invalid request"
    body = envelope(message, "60000")
    response = respond(exc.status_code, body, _format_of(request), error=True)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _unhandled(request: Request, exc: Exception) -> Response:
    return error_response(exc, _format_of(request))


def all_routes() -> list[BaseRoute]:
    # Starlette tries routes in order: the busiest endpoints (verify, OneTouch) come first.
    return [
        *tokens.routes,
        *onetouch.routes,
        *health.routes,
        *users.routes,
        *admin.routes,
        *device_links.routes,
        *device.routes,
        *phones.routes,
        *application.routes,
        *dashboard.routes,
    ]


SHUTDOWN_GRACE_SECONDS = 30


def _call_soon(loop: asyncio.AbstractEventLoop, action: Callable[[], None]) -> None:
    loop.call_soon_threadsafe(action)


def _on_shutdown_signal(action: Callable[[], None]) -> None:
    """Run ``action`` as soon as SIGTERM or SIGINT arrives, before the server's own handler
    (uvicorn's, installed by now): uvicorn stops accepting connections but lets open ones drain,
    and long polls and streams would otherwise hold the shutdown for the whole grace period."""
    if threading.current_thread() is not threading.main_thread():
        return  # signals only reach the main thread (an embedded test server has none)
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(sig)

        def handler(number: int, frame: Any, previous: Any = previous) -> None:
            action()
            if callable(previous):
                previous(number, frame)

        signal.signal(sig, handler)


async def _listen_for_notifications(runtime: Runtime, stop: anyio.Event) -> None:
    """Wake this node's long polls when another node announces a change (PostgreSQL NOTIFY)."""
    async with anyio.create_task_group() as tg:
        tg.start_soon(listen_for_changes, runtime)
        await stop.wait()
        tg.cancel_scope.cancel()


def _freeze_start_up_objects() -> None:
    """Leave what start-up built (modules, the schema, phone-number and locale data: hundreds of
    thousands of objects) out of the garbage collector's full collections, which otherwise walk
    it all: ~35 ms each, stalling every request in flight (docs/performance.md)."""
    gc.collect()
    gc.freeze()


def create_app(
    runtime: Runtime,
    *,
    background: Sequence[Callable[[Runtime, anyio.Event], Awaitable[Any]]] = (),
) -> Starlette:
    """``background`` are async tasks run beside the app (the in-process outbox worker). At
    shutdown they are asked to stop, given time to finish their current work, then cancelled."""

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        runtime.notifier.bind(loop)
        _freeze_start_up_objects()
        _on_shutdown_signal(lambda: _call_soon(loop, runtime.notifier.close))
        tasks = [*background, stats.flusher()]
        if runtime.redis is not None or not runtime.db.is_sqlite:
            tasks.append(_listen_for_notifications)
        stop = anyio.Event()
        finished = [anyio.Event() for _ in tasks]

        async def supervised(task: Callable[..., Awaitable[Any]], done: anyio.Event) -> None:
            try:
                await task(runtime, stop)
            finally:
                done.set()

        async with anyio.create_task_group() as tg:
            for task, done in zip(tasks, finished, strict=True):
                tg.start_soon(supervised, task, done)
            try:
                yield
            finally:
                stop.set()
                with anyio.move_on_after(SHUTDOWN_GRACE_SECONDS):
                    for done in finished:
                        await done.wait()
                tg.cancel_scope.cancel()

    app = ObservedApp(
        routes=all_routes(),
        exception_handlers={HTTPException: _http_error, Exception: _unhandled},
        lifespan=lifespan,
        access_log=runtime.settings.access_log,
        record_metrics=runtime.settings.metrics_enabled,
    )
    app.state.runtime = runtime
    app.state.in_process_worker = bool(background)  # /readyz then requires its heartbeat
    return app

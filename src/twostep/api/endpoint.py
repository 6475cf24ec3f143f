"""Glue between HTTP and the services: decode the request once, authenticate the API key and run
the handler inside one transaction (on a request thread, or inline: Runtime.call), then render the
body or the error envelope. The Authy API endpoints are plain ASGI apps (api/asgi.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from twostep.api.asgi import Disconnected, Incoming, send_response
from twostep.api.wire import decode
from twostep.api.wire.errors import error_body
from twostep.api.wire.params import Params
from twostep.api.wire.render import render
from twostep.errors import NotFound, TwoStepError
from twostep.services import apps
from twostep.services.apps import App
from twostep.services.runtime import Runtime, Tx

log = logging.getLogger("twostep.api")

Body = dict[str, Any]
FORMATS = ("json", "xml")


@dataclass(slots=True)
class Call:
    """What a handler sees: the transaction, the authenticated application and the parameters."""

    tx: Tx
    app: App
    params: Params
    path: dict[str, str]
    format: str
    client_ip: str | None


Handler = Callable[[Call], Body]


def runtime_of(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


def runtime_in(scope: Scope) -> Runtime:
    rt: Runtime = scope["app"].state.runtime
    return rt


async def read_params(incoming: Incoming, rt: Runtime) -> dict[str, Any]:
    s = rt.settings
    limits = decode.Limits(max_params=s.max_params, max_depth=s.max_param_depth)
    query = decode.nest(decode.parse_query(incoming.query_string, limits), limits)
    body = await incoming.body(s.max_body_bytes)
    from_body = decode.decode_body(incoming.header(b"content-type") or "", body, limits)
    return decode.merge(query, from_body)


def respond(status: int, body: Body, fmt: str, *, error: bool = False) -> Response:
    content, media_type = render(body, fmt, error=error)
    return Response(content, status_code=status, media_type=media_type)


def error_response(exc: Exception, fmt: str) -> Response:
    status, body = _error(exc)
    return respond(status, body, fmt, error=True)


def _error(exc: Exception) -> tuple[int, Body]:
    if not isinstance(exc, TwoStepError):
        log.exception("unhandled error", exc_info=exc)
    return error_body(exc)


async def reply(send: Send, status: int, body: Body, fmt: str, *, error: bool = False) -> None:
    content, media_type = render(body, fmt, error=error)
    await send_response(send, status, content, media_type)


async def reply_error(send: Send, exc: Exception, fmt: str) -> None:
    status, body = _error(exc)
    await reply(send, status, body, fmt, error=True)


def api_key_of(incoming: Incoming, params: dict[str, Any]) -> str | None:
    key = incoming.header(b"x-authy-api-key") or params.get("api_key")
    return key if isinstance(key, str) else None


@dataclass(slots=True)
class Prepared:
    rt: Runtime
    params: Params
    key: str | None
    path: dict[str, str]
    fmt: str
    client_ip: str | None

    def run(self, handler: Handler, write: bool) -> Body:
        def unit(tx: Tx) -> Body:
            app = apps.authenticate(tx, self.key)
            self.rt.counters.add(app.id, api_calls=1)
            return handler(Call(tx, app, self.params, self.path, self.fmt, self.client_ip))

        result: Body = self.rt.run(unit, write=write)
        return result


async def prepare(incoming: Incoming, rt: Runtime, fmt: str) -> Prepared:
    raw = await read_params(incoming, rt)
    return Prepared(
        rt,
        Params(raw, rt.settings.max_string_length),
        api_key_of(incoming, raw),
        incoming.path_params,
        fmt,
        incoming.client_ip,
    )


def _format(scope: Scope) -> str | None:
    fmt: str = scope.get("path_params", {}).get("format", "json")
    return fmt if fmt in FORMATS else None


class AuthyEndpoint:
    """An Authy API endpoint (API-key authenticated), as a plain ASGI app (api/asgi.py).
    ``inline``: a busy endpoint whose work is short and never waits on the network
    (Runtime.call); it is also *hot*, dispatched before Starlette's router."""

    def __init__(self, handler: Handler, *, write: bool, inline: bool) -> None:
        self.handler, self.write, self.inline, self.hot = handler, write, inline, inline
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        fmt = _format(scope)
        if fmt is None:
            await reply_error(send, NotFound("Unknown format"), "json")
            return
        try:
            rt = runtime_in(scope)
            prepared = await prepare(Incoming(scope, receive), rt, fmt)
            body = await self._answer(rt, prepared)
        except Disconnected:
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            await reply_error(send, exc, fmt)
            return
        await reply(send, 200, body, fmt)

    async def _answer(self, rt: Runtime, prepared: Prepared) -> Body:
        handler, write = self.handler, self.write
        return await rt.call(lambda: prepared.run(handler, write), inline=self.inline)


def authy(handler: Handler, *, write: bool = True, inline: bool = False) -> AuthyEndpoint:
    return AuthyEndpoint(handler, write=write, inline=inline)


RECHECK_SECONDS = 1.0  # waiters re-read the database this often (nodes without NOTIFY, SQLite)


class LongPollEndpoint(AuthyEndpoint):
    """Like ``AuthyEndpoint`` (read-only, hot), plus the ``wait=N`` extension: while
    ``waiting_on(body)`` names a topic, wait up to N seconds (at most ``long_poll_max_seconds``)
    for it to be announced, then answer with the fresh state."""

    def __init__(self, handler: Handler, waiting_on: Callable[[Body], str | None]) -> None:
        super().__init__(handler, write=False, inline=True)
        self.waiting_on = waiting_on

    async def _answer(self, rt: Runtime, prepared: Prepared) -> Body:
        limit = rt.settings.long_poll_max_seconds
        wait = prepared.params.integer("wait", minimum=0, maximum=limit) or 0
        deadline = anyio.current_time() + wait
        while True:
            body = await super()._answer(rt, prepared)
            topic = self.waiting_on(body)
            remaining = deadline - anyio.current_time()
            if topic is None or remaining <= 0:
                return body
            await rt.notifier.wait(topic, min(remaining, RECHECK_SECONDS))
            if rt.notifier.closing:  # shutting down: answer with the state as it is now
                return await rt.in_thread(lambda: prepared.run(self.handler, write=False))


def long_poll(handler: Handler, waiting_on: Callable[[Body], str | None]) -> LongPollEndpoint:
    return LongPollEndpoint(handler, waiting_on)


def public(
    handler: Callable[[Tx, Request], Response], *, write: bool = False
) -> Callable[[Request], Any]:
    """An endpoint without an API key (QR images, the device API authenticates on its own): the
    handler runs in one transaction in a worker thread and returns a finished response."""

    async def endpoint(request: Request) -> Response:
        rt = runtime_of(request)
        try:
            return await rt.in_thread(lambda: rt.run(lambda tx: handler(tx, request), write=write))
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            return error_response(exc, "json")

    endpoint.__name__ = handler.__name__
    return endpoint

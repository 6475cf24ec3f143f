"""Glue between Starlette and the services: decode the request once, authenticate the API key and run
the handler inside one transaction in a worker thread (a single thread hop per request), then render
the body or the error envelope."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from twostep.api.wire import decode
from twostep.api.wire.errors import error_body
from twostep.api.wire.params import Params
from twostep.api.wire.render import render
from twostep.errors import NotFound, PayloadTooLarge, TwoStepError
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


async def read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_params(request: Request, rt: Runtime) -> dict[str, Any]:
    s = rt.settings
    limits = decode.Limits(max_params=s.max_params, max_depth=s.max_param_depth)
    query = decode.nest(decode.parse_query(request.scope["query_string"], limits), limits)
    body = await read_body(request, s.max_body_bytes)
    from_body = decode.decode_body(request.headers.get("content-type", ""), body, limits)
    return decode.merge(query, from_body)


def respond(status: int, body: Body, fmt: str, *, error: bool = False) -> Response:
    content, media_type = render(body, fmt, error=error)
    return Response(content, status_code=status, media_type=media_type)


def error_response(exc: Exception, fmt: str) -> Response:
    if not isinstance(exc, TwoStepError):
        log.exception("unhandled error", exc_info=exc)
    status, body = error_body(exc)
    return respond(status, body, fmt, error=True)


def api_key_of(request: Request, params: dict[str, Any]) -> str | None:
    key = request.headers.get("x-authy-api-key") or params.get("api_key")
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


async def prepare(request: Request, fmt: str) -> Prepared:
    rt = runtime_of(request)
    raw = await read_params(request, rt)
    return Prepared(
        rt,
        Params(raw, rt.settings.max_string_length),
        api_key_of(request, raw),
        {k: str(v) for k, v in request.path_params.items()},
        fmt,
        request.client.host if request.client else None,
    )


def _format(request: Request) -> str | None:
    fmt: str = request.path_params.get("format", "json")
    return fmt if fmt in FORMATS else None


def authy(
    handler: Handler, *, write: bool = True, inline: bool = False
) -> Callable[[Request], Any]:
    """A Starlette endpoint for an Authy API handler (API-key authenticated). ``inline``: a
    busy endpoint whose work is short and never waits on the network (Runtime.call)."""

    async def endpoint(request: Request) -> Response:
        fmt = _format(request)
        if fmt is None:
            return error_response(NotFound("Unknown format"), "json")
        try:
            prepared = await prepare(request, fmt)
            body = await prepared.rt.call(lambda: prepared.run(handler, write), inline=inline)
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            return error_response(exc, fmt)
        return respond(200, body, fmt)

    endpoint.__name__ = handler.__name__
    return endpoint


RECHECK_SECONDS = 1.0  # waiters re-read the database this often (nodes without NOTIFY, SQLite)


def long_poll(
    handler: Handler, waiting_on: Callable[[Body], str | None]
) -> Callable[[Request], Any]:
    """Like ``authy`` (read-only), plus the ``wait=N`` extension: while ``waiting_on(body)`` names
    a topic, wait up to N seconds (at most ``long_poll_max_seconds``) for it to be announced, then
    answer with the fresh state."""

    async def endpoint(request: Request) -> Response:
        fmt = _format(request)
        if fmt is None:
            return error_response(NotFound("Unknown format"), "json")
        try:
            prepared = await prepare(request, fmt)
            limit = prepared.rt.settings.long_poll_max_seconds
            wait = prepared.params.integer("wait", minimum=0, maximum=limit) or 0
            deadline = anyio.current_time() + wait
            while True:
                body = await prepared.rt.call(
                    lambda: prepared.run(handler, write=False), inline=True
                )
                topic = waiting_on(body)
                remaining = deadline - anyio.current_time()
                if topic is None or remaining <= 0:
                    break
                notifier = prepared.rt.notifier
                await notifier.wait(topic, min(remaining, RECHECK_SECONDS))
                if notifier.closing:  # shutting down: answer with the state as it is now
                    body = await prepared.rt.in_thread(lambda: prepared.run(handler, write=False))
                    break
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            return error_response(exc, fmt)
        return respond(200, body, fmt)

    endpoint.__name__ = handler.__name__
    return endpoint


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

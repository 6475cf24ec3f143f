"""Glue for the device protocol (/device/v1, docs/device-protocol.md): JSON in and out, Authy error
envelopes. A signed endpoint reads the raw body once, then checks the signature and runs its
handler in one transaction in a worker thread (the nonce is recorded even when the handler refuses).
Unsigned endpoints (enrolment) run their handler the same way, without a device."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio
from starlette.datastructures import URL
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from twostep.api.asgi import Disconnected, Incoming
from twostep.api.endpoint import (
    RECHECK_SECONDS,
    Body,
    error_response,
    reply,
    reply_error,
    respond,
    runtime_in,
    runtime_of,
)
from twostep.api.wire import decode
from twostep.api.wire.params import Params
from twostep.services import device_auth, device_inbox
from twostep.services.device_auth import ACTIVE, SignedRequest
from twostep.services.device_model import Device
from twostep.services.runtime import Runtime, Tx

T = TypeVar("T")
Result = Body | tuple[int, Body]  # a body (200) or a status and a body


@dataclass(slots=True)
class DeviceCall:
    """What a signed handler sees: the transaction, the authenticated device, the parameters (query
    string and JSON body) and the path parameters."""

    tx: Tx
    device: Device
    params: Params
    path: dict[str, str]


@dataclass(slots=True)
class PublicCall:
    tx: Tx
    params: Params
    path: dict[str, str]
    client_ip: str | None


@dataclass(slots=True)
class Prepared:
    rt: Runtime
    signed: SignedRequest
    params: Params
    path: dict[str, str]

    def run(self, handler: Callable[[DeviceCall], T], allow: Collection[str] = ACTIVE) -> T:
        def unit(tx: Tx) -> T:
            return device_auth.run_signed(
                tx,
                self.signed,
                lambda device: handler(DeviceCall(tx, device, self.params, self.path)),
                allow=allow,
            )

        result: T = self.rt.run(unit)
        return result


_PLAIN_PATH = re.compile(r"[!$-\[\]-~]*")  # printable ASCII but space, '"', '#', '\\'


def request_target(scope: Scope) -> str:
    """The path with the query string exactly as sent: what the device signed (as Starlette's
    ``request.url`` gives it; built directly for the usual plain path, ~30 µs less)."""
    path: str = scope["path"]
    query: bytes = scope.get("query_string", b"")
    if _PLAIN_PATH.fullmatch(path) and "?" not in path:
        return path + ("?" + query.decode() if query else "")
    url = URL(scope=scope)
    return url.path + (f"?{url.query}" if url.query else "")


def _params(incoming: Incoming, body: bytes, rt: Runtime) -> Params:
    s = rt.settings
    limits = decode.Limits(max_params=s.max_params, max_depth=s.max_param_depth)
    query = decode.nest(decode.parse_query(incoming.query_string, limits), limits)
    given = decode.decode_body(incoming.header(b"content-type") or "", body, limits)
    return Params(decode.merge(query, given), s.max_string_length)


async def prepare(incoming: Incoming, rt: Runtime) -> Prepared:
    body = await incoming.body(rt.settings.max_body_bytes)
    header = incoming.header
    signed = SignedRequest(
        method=incoming.method,
        target=request_target(incoming.scope),
        body=body,
        device=header(b"x-twostep-device"),
        timestamp=header(b"x-twostep-timestamp"),
        nonce=header(b"x-twostep-nonce"),
        signature=header(b"x-twostep-signature"),
    )
    return Prepared(rt, signed, _params(incoming, body, rt), incoming.path_params)


def _status_and_body(result: Result) -> tuple[int, Body]:
    return result if isinstance(result, tuple) else (200, result)


def answer(result: Result) -> Response:
    return respond(*_status_and_body(result), "json")


class DeviceEndpoint:
    """A signed endpoint, as a plain ASGI app (api/asgi.py); ``allow`` lists the device statuses
    it accepts (active by default); ``inline`` as for api.endpoint.AuthyEndpoint (and hot)."""

    def __init__(
        self, handler: Callable[[DeviceCall], Result], allow: Collection[str], inline: bool
    ) -> None:
        self.handler, self.allow, self.inline, self.hot = handler, allow, inline, inline
        self.__name__ = handler.__name__

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        handler, allow = self.handler, self.allow
        try:
            rt = runtime_in(scope)
            prepared = await prepare(Incoming(scope, receive), rt)
            result = await rt.call(lambda: prepared.run(handler, allow), inline=self.inline)
        except Disconnected:
            return
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            await reply_error(send, exc, "json")
            return
        await reply(send, *_status_and_body(result), "json")


def device_endpoint(
    handler: Callable[[DeviceCall], Result],
    *,
    allow: Collection[str] = ACTIVE,
    inline: bool = False,
) -> DeviceEndpoint:
    return DeviceEndpoint(handler, allow, inline)


def device_public(handler: Callable[[PublicCall], Result]) -> Callable[[Request], Any]:
    """An unsigned device endpoint (enrolment): the handler runs in one writing transaction."""

    async def endpoint(request: Request) -> Response:
        rt = runtime_of(request)
        incoming = Incoming(request.scope, request.receive)
        try:
            body = await incoming.body(rt.settings.max_body_bytes)
            params = _params(incoming, body, rt)
            path, ip = incoming.path_params, incoming.client_ip
            result = await rt.in_thread(
                lambda: rt.run(lambda tx: handler(PublicCall(tx, params, path, ip)))
            )
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            return error_response(exc, "json")
        return answer(result)

    endpoint.__name__ = handler.__name__
    return endpoint


Read = Callable[[Tx, Device, Params], Body]


def device_long_poll(read: Read, ready: Callable[[Body], bool]) -> Callable[[Request], Any]:
    """A signed read with the ``wait=N`` extension: while ``ready(body)`` is false, wait up to N
    seconds (at most ``long_poll_max_seconds``) for the device's person to be announced
    (``person:{id}``), re-reading at least every second, then answer with the fresh state. The
    signature is checked once; later reads only make sure the device is still active."""

    async def endpoint(request: Request) -> Response:
        try:
            prepared = await prepare(Incoming(request.scope, request.receive), runtime_of(request))
            rt, params = prepared.rt, prepared.params
            limit = rt.settings.long_poll_max_seconds
            wait = params.integer("wait", minimum=0, maximum=limit) or 0
            deadline = anyio.current_time() + wait
            device, body = await rt.in_thread(
                lambda: prepared.run(lambda call: (call.device, read(call.tx, call.device, params)))
            )

            def again(tx: Tx) -> Body:
                return read(tx, device_inbox.still_active(tx, device.id), params)

            while not ready(body):
                remaining = deadline - anyio.current_time()
                if remaining <= 0:
                    break
                topic = f"person:{device.person_id}"
                await rt.notifier.wait(topic, min(remaining, RECHECK_SECONDS))
                body = await rt.in_thread(lambda: rt.run(again, write=False))
                if rt.notifier.closing:  # shutting down: answer with what there is
                    break
        except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
            return error_response(exc, "json")
        return answer(body)

    endpoint.__name__ = read.__name__
    return endpoint

"""Request ids, the access log and the request metrics: one pure ASGI middleware, outside every
other layer of the application (so that even the 500 page of an unhandled error carries the id).

The id comes from the client's ``X-Request-Id`` when it is 1-128 characters of ``[A-Za-z0-9._:-]``,
else it is generated (16 hex digits); it is returned in ``X-Request-Id`` and set in
``logs.request_id`` for every log line written while the request is handled. Access-log lines and
metrics name the route *template* (``/protected/{format}/verify/{token}/{authy_id}``), never the raw
path, which carries tokens; requests that match no route are ``unmatched``."""

from __future__ import annotations

import logging
import random
import re
import time
from typing import Any

from starlette.applications import Starlette
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from twostep import metrics
from twostep.api.asgi import HotRoutes
from twostep.logs import request_id

HEADER = b"x-request-id"
_VALID = re.compile(rb"[A-Za-z0-9._:-]{1,128}")

access = logging.getLogger("twostep.access")


def _incoming_id(headers: list[tuple[bytes, bytes]]) -> bytes:
    for name, value in headers:
        if name == HEADER:
            if _VALID.fullmatch(value):
                return value
            break
    # Not a secret, only unique enough to find a request's lines: the Mersenne Twister (seeded
    # per process) spares every request os.urandom's system call.
    return b"%016x" % random.getrandbits(64)


def _add_id(start: Message, rid: bytes) -> None:
    # a copy: the list may be a response object's own, and a response may be reused
    start["headers"] = [*start.get("headers", ()), (HEADER, rid)]


def route_of(scope: Scope) -> str:
    """The matched route's path template (set by Starlette's router), or ``unmatched``."""
    path = getattr(scope.get("route"), "path", None)
    return path if isinstance(path, str) else metrics.UNMATCHED


class RequestObserver:
    """The middleware. With neither the access log nor metrics it only handles the id."""

    __slots__ = ("access_log", "app", "record_metrics")

    def __init__(self, app: ASGIApp, *, access_log: bool, record_metrics: bool) -> None:
        self.app = app
        self.access_log = access_log
        self.record_metrics = record_metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = _incoming_id(scope["headers"])
        token = request_id.set(rid.decode("ascii"))
        try:
            if self.access_log or self.record_metrics:
                await self._observed(scope, receive, send, rid)
                return

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    _add_id(message, rid)
                await send(message)

            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)

    async def _observed(self, scope: Scope, receive: Receive, send: Send, rid: bytes) -> None:
        started = time.perf_counter()
        status = 500  # if the application fails before answering

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                _add_id(message, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_observed)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method: str = scope["method"]
            if self.record_metrics:
                metrics.request(method, route, status, seconds)
            if self.access_log:
                self._log(method, route, status, seconds, rid.decode("ascii"))

    @staticmethod
    def _log(method: str, route: str, status: int, seconds: float, rid: str) -> None:
        ms = round(seconds * 1000, 2)
        access.info(
            "%s %s %d %.2fms",
            method,
            route,
            status,
            ms,
            extra={
                "request_id": rid,
                "fields": {"method": method, "route": route, "status": status, "duration_ms": ms},
            },
        )


class ObservedApp(Starlette):
    """Starlette with ``RequestObserver`` wrapped around its whole middleware stack, and the hot
    routes dispatched inside it, before the rest (api/asgi.py)."""

    def __init__(self, *, access_log: bool = False, record_metrics: bool = False, **kw: Any):
        super().__init__(**kw)
        self.access_log = access_log
        self.record_metrics = record_metrics

    def build_middleware_stack(self) -> ASGIApp:
        return RequestObserver(
            HotRoutes(super().build_middleware_stack(), self.routes),
            access_log=self.access_log,
            record_metrics=self.record_metrics,
        )

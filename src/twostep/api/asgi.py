"""Plain ASGI for the API's endpoints: reading a request and writing a response without
Starlette's Request and Response objects, and the dispatcher that sends the busiest routes
straight to their endpoints, past Starlette's router and exception middlewares.

An endpoint written as a class instance with ``__call__(scope, receive, send)`` is run by
Starlette's ``Route`` as an ASGI app, so one endpoint object serves both ways. Every such endpoint
turns its own failures into an Authy error envelope; the middlewares it skips would only catch
what it already catches. Together this is ~60 µs of a request (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from twostep.errors import PayloadTooLarge


class Disconnected(Exception):
    """The client went away before its request body arrived: there is no one to answer."""


class Incoming:
    """What an endpoint reads of its request."""

    __slots__ = ("receive", "scope")

    def __init__(self, scope: Scope, receive: Receive) -> None:
        self.scope = scope
        self.receive = receive

    def header(self, name: bytes) -> str | None:
        """The first value of a header (``name`` in lower case, as ASGI servers pass them)."""
        for key, value in self.scope["headers"]:
            if key == name:
                text: str = value.decode("latin-1")
                return text
        return None

    @property
    def method(self) -> str:
        method: str = self.scope["method"]
        return method

    @property
    def path_params(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.scope.get("path_params", {}).items()}

    @property
    def client_ip(self) -> str | None:
        client = self.scope.get("client")
        return str(client[0]) if client else None

    @property
    def query_string(self) -> bytes:
        query: bytes = self.scope.get("query_string", b"")
        return query

    async def body(self, limit: int) -> bytes:
        """The whole body, refused with PayloadTooLarge past ``limit`` bytes (declared or sent)."""
        declared = self.header(b"content-length") or ""
        if declared.isdigit() and int(declared) > limit:
            raise PayloadTooLarge(limit)
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                raise Disconnected
            chunk: bytes = message.get("body", b"")
            if chunk:
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(limit)
                chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def send_response(
    send: Send,
    status: int,
    content: bytes,
    media_type: str,
    headers: Sequence[tuple[bytes, bytes]] = (),
) -> None:
    """The same bytes and headers a Starlette ``Response`` would send."""
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *headers,
                (b"content-length", str(len(content)).encode("latin-1")),
                (b"content-type", media_type.encode("latin-1")),
            ],
        }
    )
    await send({"type": "http.response.body", "body": content})


def is_hot(route: BaseRoute) -> bool:
    return isinstance(route, Route) and bool(getattr(route.endpoint, "hot", False))


class HotRoutes:
    """Sends requests for the hot routes (endpoints marked ``hot``) straight to their endpoint,
    matched by the routes' own ``matches`` (the same path parameters, ``scope["route"]`` for the
    metrics and the access log); everything else, including a hot path with another method (405),
    goes through the rest of the application."""

    __slots__ = ("app", "by_key", "routes")

    def __init__(self, app: ASGIApp, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = [route for route in routes if is_hot(route)]
        # Candidates by the path's first and third segments when the templates fix them
        # (``/protected/{format}/verify/...``): a request tries the routes that can match, not
        # every hot route's regular expression in turn (~1 µs each).
        self.by_key: dict[tuple[str, str], list[Route]] = {}
        for route in self.routes:
            assert isinstance(route, Route)
            key = _key(route.path)
            if "{" in "".join(key):
                raise ValueError(f"a hot route needs fixed first and third segments: {route.path}")
            self.by_key.setdefault(key, []).append(route)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            routes = self.by_key.get(_key(scope["path"]), ())
            for route in routes:
                match, child_scope = route.matches(scope)
                if match is Match.FULL:
                    scope["route"] = route
                    scope.update(child_scope)
                    endpoint: Any = child_scope["endpoint"]
                    await endpoint(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _key(path: str) -> tuple[str, str]:
    """A path's first and third segments (a mounted application's paths find no hot route and
    go the long way, through the router)."""
    parts = path.split("/", 4)
    return (parts[1], parts[3]) if len(parts) > 3 else ("", "")

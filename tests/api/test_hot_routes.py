"""The hot routes (api/asgi.py): dispatched before Starlette's router, they must answer exactly
as the router would have, and read their requests as carefully."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from sqlalchemy import func, select
from starlette.routing import Match, Route
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from twostep.api.app import all_routes, create_app
from twostep.api.asgi import HotRoutes, is_hot
from twostep.services.runtime import Runtime
from twostep.store.schema import approval_requests


def _sample_path(route: Route) -> str:
    return re.sub(r"\{[^}]+\}", "x1", route.path)


def test_the_busy_endpoints_are_hot() -> None:
    hot = {route.path for route in all_routes() if is_hot(route)}
    assert {
        "/protected/{format}/verify/{token}/{authy_id}",
        "/protected/{format}/sms/{authy_id}",
        "/onetouch/{format}/users/{authy_id}/approval_requests",
        "/onetouch/{format}/approval_requests/{uuid}",
        "/device/v1/approval_requests/{uuid}",
    } <= hot


def test_no_earlier_route_takes_a_hot_routes_requests() -> None:
    """The router tries routes in order; the dispatcher tries only the hot ones. They agree as
    long as no route before a hot one matches its requests."""
    routes = all_routes()
    for index, route in enumerate(routes):
        if not is_hot(route):
            continue
        assert isinstance(route, Route)
        for method in route.methods or ():
            scope = {"type": "http", "path": _sample_path(route), "method": method}
            for earlier in routes[:index]:
                match, _ = earlier.matches(scope)
                assert match is not Match.FULL, (route.path, method, earlier)


def test_the_dispatcher_finds_each_hot_route_among_its_candidates() -> None:
    """Hot routes are looked up by their paths' first and third segments: every hot route's
    requests find it there, and a route whose template leaves those open is refused."""
    routes = all_routes()
    dispatcher = HotRoutes(lambda *_: None, routes)  # type: ignore[arg-type, return-value]
    for route in dispatcher.routes:
        assert isinstance(route, Route)
        parts = _sample_path(route).split("/", 4)
        assert route in dispatcher.by_key[(parts[1], parts[3])], route.path

    async def endpoint(scope: Any, receive: Any, send: Any) -> None:
        pass

    endpoint.hot = True  # type: ignore[attr-defined]
    with pytest.raises(ValueError, match="fixed first and third"):
        HotRoutes(lambda *_: None, [Route("/{format}/x/{y}", endpoint)])  # type: ignore[arg-type, return-value]


def test_a_hot_path_with_another_method_is_405(client: TestClient, app_key: str) -> None:
    response = client.post("/protected/json/verify/1234567/1", headers=headers(app_key))
    assert_error(response, 405, "60000")
    assert response.headers["x-request-id"]


def test_a_hot_route_with_an_unknown_format(client: TestClient, app_key: str) -> None:
    response = client.get("/protected/yaml/verify/1234567/1", headers=headers(app_key))
    assert_error(response, 404, "60000", "Unknown format")


def test_body_limit_on_a_hot_route(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key)
    path = f"/onetouch/json/users/{authy_id}/approval_requests"
    huge = b"message=" + b"a" * 70_000
    form = {**headers(app_key), "content-type": "application/x-www-form-urlencoded"}
    assert_error(client.post(path, content=huge, headers=form), 413, "60002")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit counts what arrives
        yield b"message="
        for _ in range(20):
            yield b"a" * 4096

    assert_error(client.post(path, content=chunks(), headers=form), 413, "60002")


def test_the_same_answer_in_xml(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key)
    response = client.get(f"/protected/xml/verify/0000000/{authy_id}", headers=headers(app_key))
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert response.headers["content-length"] == str(len(response.content))
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<errors>')


def test_a_client_gone_before_its_body_gets_no_answer_and_nothing_runs(
    runtime: Runtime, app_key: str, client: TestClient
) -> None:
    authy_id = register(client, app_key)
    app = create_app(runtime)
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": f"/onetouch/json/users/{authy_id}/approval_requests",
        "raw_path": b"",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"x-authy-api-key", app_key.encode()), (b"content-length", b"20")],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    anyio.run(app, scope, receive, send)
    assert sent == []
    created = runtime.run(
        lambda tx: tx.conn.execute(select(func.count()).select_from(approval_requests)).scalar(),
        write=False,
    )
    assert created == 0

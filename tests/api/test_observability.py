"""Request ids, the access log, /readyz and worker heartbeats (metrics: test_metrics.py)."""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest
from sqlalchemy import create_engine, text
from starlette.routing import Route
from starlette.testclient import TestClient

from tests.api.helpers import headers, register
from tests.support import free_port
from twostep.api import app as api_app
from twostep.api.app import create_app
from twostep.clock import FrozenClock
from twostep.logs import configure_logging
from twostep.services import apps, health, maintenance
from twostep.services.runtime import Runtime
from twostep.store import heartbeats as heartbeat_store
from twostep.store import migrate
from twostep.worker.dispatch import Dispatcher
from twostep.worker.embedded import background_tasks
from twostep.worker.runner import Worker

GENERATED = re.compile(r"[0-9a-f]{16}")
VERIFY_ROUTE = "/protected/{format}/verify/{token}/{authy_id}"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"access_log": True}


@pytest.fixture
def json_logs(capsys: pytest.CaptureFixture[str]) -> Iterator[Any]:
    """JSON log lines on (captured) stderr; returns a reader of the parsed lines."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    configure_logging(json_lines=True, level=logging.INFO)
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)

    def lines() -> list[dict[str, Any]]:
        captured = capsys.readouterr().err.splitlines()
        handler.stream = sys.stderr  # the capture of the current test phase (setup's is closed)
        return [json.loads(x) for x in captured if x.startswith("{")]

    yield lines
    root.handlers[:], level = saved
    root.setLevel(level)


def with_settings(runtime: Runtime, **changes: Any) -> Runtime:
    return replace(runtime, settings=runtime.settings.model_copy(update=changes))


# --- request ids ------------------------------------------------------------------------------------


def test_a_request_id_is_generated_per_request(client: TestClient) -> None:
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(first)
    assert GENERATED.fullmatch(second)
    assert first != second


@pytest.mark.parametrize("given", ["abc", "Req-1.2:3_x", "x" * 128, "0"])
def test_a_valid_client_request_id_is_echoed(client: TestClient, given: str) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": given}).headers["x-request-id"] == given


@pytest.mark.parametrize(
    "given", [b"", b"has space", b"x" * 129, "\u00fc".encode(), b"a/b", b"<script>", b"a\tb"]
)
def test_an_invalid_client_request_id_is_replaced(client: TestClient, given: bytes) -> None:
    response = client.get("/healthz", headers={"X-Request-Id": given})
    assert GENERATED.fullmatch(response.headers["x-request-id"])
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]


def test_error_pages_carry_the_request_id(client: TestClient) -> None:
    not_found = client.get("/nowhere", headers={"X-Request-Id": "r-404"})
    assert (not_found.status_code, not_found.headers["x-request-id"]) == (404, "r-404")
    wrong_method = client.delete("/healthz", headers={"X-Request-Id": "r-405"})
    assert (wrong_method.status_code, wrong_method.headers["x-request-id"]) == (405, "r-405")


def test_the_id_reaches_log_lines_written_in_worker_threads_and_the_500_page(
    runtime: Runtime, app_key: str, json_logs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Services run in worker threads (``anyio.to_thread``): the context, and the id, go along."""
    authenticate = apps.authenticate

    def logging_authenticate(tx: Any, key: str | None) -> Any:
        logging.getLogger("twostep.services.test").warning("inside the service")
        return authenticate(tx, key)

    monkeypatch.setattr(apps, "authenticate", logging_authenticate)

    async def boom(_request: Any) -> Any:
        raise RuntimeError("unexpected")

    wired = api_app.all_routes
    monkeypatch.setattr(api_app, "all_routes", lambda: [*wired(), Route("/boom", boom)])
    client = TestClient(create_app(runtime), raise_server_exceptions=False)
    json_logs()
    ok = client.get(
        "/protected/json/app/details", headers={**headers(app_key), "X-Request-Id": "r1"}
    )
    assert ok.status_code == 200
    failed = client.get("/boom", headers={"X-Request-Id": "r2"})
    assert (failed.status_code, failed.headers["x-request-id"]) == (500, "r2")
    lines = json_logs()
    [service] = [x for x in lines if x["logger"] == "twostep.services.test"]
    assert service["request_id"] == "r1"
    [unhandled] = [x for x in lines if x["message"] == "unhandled error"]
    assert unhandled["request_id"] == "r2"
    [access] = [x for x in lines if x["logger"] == "twostep.access" and x["route"] == "/boom"]
    assert (access["status"], access["request_id"]) == (500, "r2")


# --- the access log ---------------------------------------------------------------------------------


def test_one_access_line_per_request_with_the_route_template(
    client: TestClient, app_key: str, json_logs: Any
) -> None:
    user = register(client, app_key)
    json_logs()
    response = client.get(
        f"/protected/json/verify/1234567/{user}",
        params={"api_key": app_key},
        headers={"X-Request-Id": "trace-me"},
    )
    assert response.status_code == 401
    client.get("/protected/json/verify/7654321/1/extra")  # matches no route
    lines = json_logs()
    access = [x for x in lines if x["logger"] == "twostep.access"]
    assert len(access) == 2
    first, unmatched = access
    assert first["level"] == "info"
    assert {k: first[k] for k in ("method", "route", "status", "request_id")} == {
        "method": "GET",
        "route": VERIFY_ROUTE,
        "status": 401,
        "request_id": "trace-me",
    }
    assert isinstance(first["duration_ms"], float)
    assert first["duration_ms"] >= 0
    assert (unmatched["route"], unmatched["status"]) == ("unmatched", 404)
    assert GENERATED.fullmatch(unmatched["request_id"])
    # the test's own HTTP client (httpx2, not part of the server) logs the URLs it requests
    text_of_lines = json.dumps([x for x in lines if not x["logger"].startswith("httpx2")])
    for secret in ("1234567", "7654321", app_key, "api_key", "/extra"):
        assert secret not in text_of_lines


def test_no_access_log_by_default(runtime: Runtime, json_logs: Any) -> None:
    client = TestClient(create_app(with_settings(runtime, access_log=False)))
    json_logs()
    assert client.get("/healthz").status_code == 200
    assert not [x for x in json_logs() if x["logger"] == "twostep.access"]


# --- /readyz ----------------------------------------------------------------------------------------


def readyz(client: TestClient) -> tuple[int, dict[str, Any]]:
    response = client.get("/readyz")
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    return response.status_code, body


def beat(runtime: Runtime, name: str | None = None) -> None:
    name = name or health.worker_name()
    runtime.run(lambda tx: heartbeat_store.beat(tx.conn, name, now=tx.now, started_at=tx.now))


def test_ready_with_a_fresh_worker_heartbeat(client: TestClient, runtime: Runtime) -> None:
    beat(runtime, "other-host:1")
    status, body = readyz(client)
    assert status == 200
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "schema": "ok", "worker": "ok"}
    assert body["schema_revision"] == migrate.head_revision()
    assert body["workers"] == 1


def test_an_api_node_without_workers_is_degraded_but_stays_in_the_pool(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    status, body = readyz(client)
    assert (status, body["status"], body["checks"]["worker"]) == (200, "degraded", "missing")
    beat(runtime, "other-host:1")
    assert readyz(client)[1]["status"] == "ready"
    clock.advance(health.HEARTBEAT_STALE.total_seconds() + 1)
    status, body = readyz(client)
    assert (status, body["status"], body["workers"]) == (200, "degraded", 0)


async def idle(_rt: Runtime, stop: anyio.Event) -> None:
    await stop.wait()


def test_a_node_running_the_worker_needs_its_own_heartbeat(
    runtime: Runtime, clock: FrozenClock
) -> None:
    client = TestClient(create_app(runtime, background=[idle]))  # lifespan not started
    beat(runtime, "other-host:1")  # another worker's heartbeat does not count
    status, body = readyz(client)
    assert (status, body["status"], body["checks"]["worker"]) == (503, "not ready", "missing")
    beat(runtime)
    status, body = readyz(client)
    assert (status, body["status"], body["checks"]["worker"], body["workers"]) == (
        200,
        "ready",
        "ok",
        1,
    )
    clock.advance(health.HEARTBEAT_STALE.total_seconds() + 1)
    assert readyz(client)[0] == 503


def test_the_in_process_worker_beats_and_removes_its_row_on_stop(runtime: Runtime) -> None:
    name = health.worker_name()
    app = create_app(runtime, background=background_tasks(runtime.settings))
    with TestClient(app) as client:
        deadline = time.monotonic() + 10
        while readyz(client)[0] != 200:
            assert time.monotonic() < deadline, readyz(client)
            time.sleep(0.05)
        assert readyz(client)[1]["status"] == "ready"
        assert runtime.run(lambda tx: heartbeat_store.last_beat(tx.conn, name)) is not None
    assert runtime.run(lambda tx: heartbeat_store.last_beat(tx.conn, name)) is None


def test_old_heartbeats_are_pruned_by_maintenance(runtime: Runtime, clock: FrozenClock) -> None:
    beat(runtime, "crashed-host:7")
    clock.advance(health.HEARTBEAT_HISTORY.total_seconds() - 10)
    beat(runtime, "live-host:8")
    assert maintenance.periodic(runtime)["heartbeats_pruned"] == 0
    clock.advance(20)
    assert maintenance.periodic(runtime)["heartbeats_pruned"] == 1
    assert runtime.run(lambda tx: heartbeat_store.fresh(tx.conn, tx.now))[0] == 0
    assert runtime.run(lambda tx: heartbeat_store.last_beat(tx.conn, "live-host:8")) is not None


def test_a_worker_loop_beats_while_it_runs(runtime: Runtime) -> None:
    async def run_briefly() -> Any:
        stop = anyio.Event()
        worker = Worker(runtime, Dispatcher(runtime))
        seen = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(worker.run, stop)
            for _ in range(200):
                seen = runtime.run(
                    lambda tx: heartbeat_store.last_beat(tx.conn, worker.heartbeat.name)
                )
                if seen is not None:
                    break
                await anyio.sleep(0.02)
            stop.set()
        return seen

    assert anyio.run(run_briefly) is not None
    assert runtime.run(lambda tx: heartbeat_store.fresh(tx.conn, tx.now))[0] == 0


def test_not_ready_when_the_database_is_down(
    client: TestClient,
    runtime: Runtime,
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if database_url.startswith("sqlite"):
        dead = f"sqlite:///{tmp_path}/missing-dir/twostep.db"
    else:
        dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/twostep"
    engine = create_engine(dead)
    monkeypatch.setattr(runtime.db, "engine", engine)
    status, body = readyz(client)
    assert status == 503
    assert body == {
        "status": "not ready",
        "checks": {"database": "unavailable", "schema": "unknown", "worker": "unknown"},
    }
    engine.dispose()


def test_not_ready_when_the_check_times_out(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def hang(*_args: Any, **_kwargs: Any) -> None:
        time.sleep(1.0)

    monkeypatch.setattr(health, "READY_TIMEOUT", 0.1)
    monkeypatch.setattr(health, "readiness", hang)
    started = time.monotonic()
    status, body = readyz(client)
    assert time.monotonic() - started < 0.9
    assert (status, body["checks"]["database"]) == (503, "timeout")


def set_revision(runtime: Runtime, revision: str | None) -> None:
    with runtime.db.engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
        if revision is not None:
            conn.execute(text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})


def test_schema_revisions(client: TestClient, runtime: Runtime) -> None:
    beat(runtime, "other-host:1")
    set_revision(runtime, "f00dfeedbeef")  # a later release's expand migration: compatible
    status, body = readyz(client)
    assert (status, body["status"], body["checks"]["schema"]) == (200, "ready", "newer")
    assert body["schema_revision"] == "f00dfeedbeef"
    older = sorted(migrate.known_revisions() - {migrate.head_revision()})[0]
    set_revision(runtime, older)  # `twostep db upgrade` not run
    status, body = readyz(client)
    assert (status, body["status"], body["checks"]["schema"]) == (503, "not ready", "outdated")
    set_revision(runtime, None)
    status, body = readyz(client)
    assert (status, body["checks"]["schema"]) == (503, "missing")

"""No one-time code, seed, API key or master key ever reaches a log, even at DEBUG level."""

from __future__ import annotations

import json
import logging
from dataclasses import replace

import anyio
import pytest
from starlette.testclient import TestClient

from tests.api.helpers import headers, register
from tests.factories import add_device, last_code
from tests.support import TEST_MASTER_KEY
from twostep.api.app import create_app
from twostep.core import otp
from twostep.delivery.base import DeliveryResult
from twostep.logs import configure_logging
from twostep.services import secrets, users
from twostep.services.apps import App
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker

VERIFY_ROUTE = "/protected/{format}/verify/{token}/{authy_id}"


async def failing(_job: Job) -> DeliveryResult:
    return DeliveryResult(ok=False, provider="fake", retry=True, detail="rejected")


def test_a_full_flow_at_debug_level_logs_no_secret(
    client: TestClient,
    runtime: Runtime,
    test_app: tuple[App, str],
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app, key = test_app
    configure_logging(json_lines=True, level=logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    user = register(client, key)
    client.get(f"/protected/json/sms/{user}", headers=headers(key))
    code = last_code(runtime)
    anyio.run(Worker(runtime, failing).run_once)  # a failed delivery is logged
    client.get(f"/protected/json/verify/0000001/{user}", headers=headers(key))
    client.get(f"/protected/json/verify/{code}/{user}", headers=headers(key))
    client.get(f"/protected/json/verify/{code}/{user}", headers=headers(key))
    _device, seed = add_device(runtime, user, app.id)
    token = otp.totp(seed, runtime.clock.time(), 10, 7)
    client.get(f"/protected/json/verify/{token}/{user}", headers=headers(key))
    client.post(f"/protected/json/users/{user}/secret", headers=headers(key))
    generic = runtime.run(lambda tx: secrets.ensure_secret(tx, app, users.get(tx, app, user)))
    anyio.run(Worker(runtime, Dispatcher(runtime)).run_once)
    client.get("/protected/json/users/1/status", headers=headers("wrong-key-" + key[:5]))

    # the test's own HTTP client (httpx2, not part of the server) logs the URLs it requests
    server_records = [r for r in caplog.records if not r.name.startswith("httpx2")]
    logged = "\n".join(r.getMessage() + str(r.exc_info or "") for r in server_records)
    logged += "\n".join(
        line for line in capsys.readouterr().err.splitlines() if "httpx2" not in line
    )
    assert "job" in logged  # the capture works: the failed delivery was logged
    for secret in (
        key,
        code,
        token,
        seed.hex(),
        otp.base32_secret(seed),
        generic.hex(),
        otp.base32_secret(generic),
        TEST_MASTER_KEY,
    ):
        assert secret not in logged


def test_access_log_request_ids_and_metrics_hold_no_secret(
    runtime: Runtime,
    test_app: tuple[App, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Access lines and metrics name route templates, never the raw path (tokens, ids) or the
    query string (Authy clients may put the API key there)."""
    app, key = test_app
    observed = replace(
        runtime,
        settings=runtime.settings.model_copy(update={"access_log": True, "metrics_enabled": True}),
    )
    client = TestClient(create_app(observed), raise_server_exceptions=False)
    configure_logging(json_lines=True, level=logging.DEBUG)
    user = register(client, key)
    client.get(f"/protected/json/sms/{user}", params={"api_key": key})
    code = last_code(runtime)
    _device, seed = add_device(runtime, user, app.id)
    token = otp.totp(seed, runtime.clock.time(), 10, 7)
    for path in (
        f"/protected/json/verify/{code}/{user}",
        f"/protected/json/verify/{token}/{user}",
        f"/protected/json/verify/{code}/{user}/trailing",  # no route: "unmatched"
    ):
        client.get(path, params={"api_key": key}, headers={"X-Request-Id": "rid-1"})
    scraped = client.get("/metrics").text

    lines = [
        json.loads(line)
        for line in capsys.readouterr().err.splitlines()
        if line.startswith("{") and "httpx2" not in line
    ]
    access = [x for x in lines if x["logger"] == "twostep.access"]
    assert len(access) == 6
    assert {x["request_id"] for x in access[2:5]} == {"rid-1"}
    assert [x["route"] for x in access[2:5]] == [VERIFY_ROUTE, VERIFY_ROUTE, "unmatched"]
    assert all(x.get("request_id") for x in lines)  # every line was written during a request
    logged = json.dumps(lines)
    for secret in (key, code, token, seed.hex(), "api_key", "trailing", TEST_MASTER_KEY):
        assert secret not in logged
        assert secret not in scraped

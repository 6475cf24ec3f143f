"""No one-time code, seed, API key or master key ever reaches a log, even at DEBUG level."""

from __future__ import annotations

import logging

import anyio
import pytest
from starlette.testclient import TestClient

from tests.api.helpers import headers, register
from tests.factories import add_device, last_code
from tests.support import TEST_MASTER_KEY
from twostep.core import otp
from twostep.delivery.base import DeliveryResult
from twostep.logs import configure_logging
from twostep.services import secrets, users
from twostep.services.apps import App
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker


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

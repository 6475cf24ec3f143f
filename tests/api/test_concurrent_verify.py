"""64 concurrent verifications of one valid code, spread over three server processes on one
database: exactly one is accepted (the leading open-source peer accepted the same code twice)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.factories import add_device, last_code
from tests.support import ServerProcess, make_runtime, make_settings, new_app
from twostep.core import otp
from twostep.services import users
from twostep.services.runtime import Runtime

pytestmark = pytest.mark.slow

ATTEMPTS = 64


async def fire(urls: list[str], key: str, token: str, authy_id: int) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60) as client:
        requests = [
            client.get(
                f"{urls[i % len(urls)]}/protected/json/verify/{token}/{authy_id}",
                headers={"X-Authy-API-Key": key},
            )
            for i in range(ATTEMPTS)
        ]
        return await asyncio.gather(*requests)


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> tuple[list[str], Runtime]:
    env = {"TWOSTEP_VERIFY_FAIL_LIMIT": "1000"}  # see every refusal as a replay, not a lockout
    servers = [ServerProcess(database_url, tmp_path, "--no-worker", env=env) for _ in range(3)]
    for server in servers:
        server.wait_ready()
    rt = make_runtime(make_settings(database_url, tmp_path))
    yield [s.url for s in servers], rt
    rt.db.dispose()
    for server in servers:
        server.stop()


def check_exactly_one(responses: list[httpx.Response]) -> None:
    accepted = [r for r in responses if r.status_code == 200]
    refused = [r for r in responses if r.status_code != 200]
    assert len(accepted) == 1, [r.text for r in accepted]
    assert all(r.status_code == 401 for r in refused), {r.status_code for r in refused}
    assert {r.json()["error_code"] for r in refused} == {"60019"}


def test_one_sms_code_is_accepted_once(cluster: tuple[list[str], Runtime]) -> None:
    urls, rt = cluster
    app, key = new_app(rt)
    user = rt.run(
        lambda tx: users.register(
            tx, app, email="c@example.com", country_code=1, cellphone="2015550123"
        )
    )
    httpx.get(f"{urls[0]}/protected/json/sms/{user.authy_id}", headers={"X-Authy-API-Key": key})
    code = last_code(rt)
    check_exactly_one(asyncio.run(fire(urls, key, code, user.authy_id)))


def test_one_device_token_is_accepted_once(cluster: tuple[list[str], Runtime]) -> None:
    urls, rt = cluster
    app, key = new_app(rt)
    user = rt.run(
        lambda tx: users.register(
            tx, app, email="d@example.com", country_code=1, cellphone="2015550134"
        )
    )
    _device, seed = add_device(rt, user.authy_id, app.id)
    token = otp.totp(seed, rt.clock.time(), step=10, digits=7)
    check_exactly_one(asyncio.run(fire(urls, key, token, user.authy_id)))

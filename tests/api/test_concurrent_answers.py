"""Concurrent device answers spread over three server processes on one database: a signed request
replayed in parallel is accepted once, and of many answers to one approval request exactly one
decides it — the others are refused with the documented errors, never a server error. (On
PostgreSQL the nonce and the decision are recorded by statements held back until COMMIT, which
rely on the row lock and on the transaction being run again when it lost a race.)"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.device_flows import confirm, last_pin, pending, start
from tests.api.helpers import register
from tests.device_client import DeviceKey, SignedDevice, shown_digest, statement
from tests.support import ServerProcess, make_runtime, make_settings, new_app
from twostep.services.runtime import Runtime

pytestmark = pytest.mark.slow

ANSWERS = 24


class Cluster:
    def __init__(self, urls: list[str], rt: Runtime) -> None:
        self.urls, self.rt = urls, rt


@pytest.fixture
def cluster(database_url: str, tmp_path: Path) -> Iterator[Cluster]:
    servers = [ServerProcess(database_url, tmp_path, "--no-worker") for _ in range(3)]
    for server in servers:
        server.wait_ready()
    rt = make_runtime(make_settings(database_url, tmp_path))
    yield Cluster([s.url for s in servers], rt)
    rt.db.dispose()
    for server in servers:
        server.stop()


def enrolled(cluster: Cluster, http: httpx.Client) -> tuple[SignedDevice, str, dict[str, Any]]:
    """A device of a registered user, and a pending approval request as the device sees it."""
    _app, key = new_app(cluster.rt)
    authy_id = register(http, key)  # type: ignore[arg-type]
    started = start(http, "2015550123")  # type: ignore[arg-type]
    enrollment_id = started.json()["enrollment_id"]
    device_key = DeviceKey()
    body = confirm(http, enrollment_id, last_pin(cluster.rt), device_key).json()  # type: ignore[arg-type]
    device = SignedDevice(
        http, device_key, body["device"]["device_uuid"], body["device"]["device_id"], time.time
    )
    created = http.post(
        f"/onetouch/json/users/{authy_id}/approval_requests",
        json={"message": "Log in?"},
        headers={"X-Authy-API-Key": key},
    )
    assert created.status_code == 200, created.text
    [request] = pending(device)
    return device, key, request


def signed_answer(
    device: SignedDevice, request: dict[str, Any]
) -> tuple[str, bytes, dict[str, str]]:
    at = int(time.time())
    signature = device.key.sign(
        statement(request["uuid"], "approved", at, shown_digest(request["shown"]))
    )
    body = json.dumps({"status": "approved", "signed_at": at, "signature": signature}).encode()
    target = f"/device/v1/approval_requests/{request['uuid']}"
    headers = {**device.headers("POST", target, body), "Content-Type": "application/json"}
    return target, body, headers


async def send_all(urls: list[str], answers: list[tuple[str, bytes, dict[str, str]]]) -> list[Any]:
    async with httpx.AsyncClient(timeout=60) as client:
        sent = [
            client.post(f"{urls[i % len(urls)]}{target}", content=body, headers=headers)
            for i, (target, body, headers) in enumerate(answers)
        ]
        return [(r.status_code, r.json()) for r in await asyncio.gather(*sent)]


def test_a_signed_answer_sent_many_times_at_once_is_accepted_once(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.urls[0], timeout=30) as http:
        device, _key, request = enrolled(cluster, http)
        answer = signed_answer(device, request)
    results = asyncio.run(send_all(cluster.urls, [answer] * ANSWERS))
    assert [status for status, _ in results].count(200) == 1, results
    refused = [body for status, body in results if status != 200]
    assert {body["error_code"] for body in refused} == {"60087"}, refused  # replayed nonce


def test_many_answers_to_one_request_at_once_decide_it_once(cluster: Cluster) -> None:
    with httpx.Client(base_url=cluster.urls[0], timeout=30) as http:
        device, key, request = enrolled(cluster, http)
        answers = [signed_answer(device, request) for _ in range(ANSWERS)]  # a nonce each
        results = asyncio.run(send_all(cluster.urls, answers))
        assert [status for status, _ in results].count(200) == 1, results
        refused = [body for status, body in results if status != 200]
        assert {body["error_code"] for body in refused} == {"60079"}, refused  # not pending
        status = http.get(
            f"/onetouch/json/approval_requests/{request['uuid']}", headers={"X-Authy-API-Key": key}
        )
        assert status.json()["approval_request"]["status"] == "approved"

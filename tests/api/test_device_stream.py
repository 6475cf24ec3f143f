"""The device's Server-Sent Events stream against a real server: pending requests first, then each
new one as it is created; refusals before the stream starts; the end of the stream on revocation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.helpers import PHONES, headers
from tests.device_client import DeviceKey, SignedDevice, registration
from tests.factories import queued
from tests.support import LiveServer, make_runtime
from twostep.api.app import create_app
from twostep.clock import FrozenClock
from twostep.services import approvals
from twostep.services.apps import App
from twostep.services.runtime import Runtime

STREAM = "/device/v1/approval_requests/stream"


@pytest.fixture
def server(runtime: Runtime) -> Iterator[LiveServer]:
    with LiveServer(create_app(runtime)) as live:
        yield live


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


def enrolled(http: httpx.Client, runtime: Runtime, clock: FrozenClock, key: str) -> SignedDevice:
    user = {"email": "ann@example.com", "cellphone": PHONES[0], "country_code": 1}
    made = http.post("/protected/json/users/new", json={"user": user}, headers=headers(key))
    assert made.status_code == 200, made.text
    started = http.post(
        "/device/v1/enrollments",
        json={"country_code": 1, "phone_number": PHONES[0], "via": "sms"},
    ).json()
    pin = str(queued(runtime, "sms")[-1]["code"])
    device_key = DeviceKey()
    confirmed = http.post(
        f"/device/v1/enrollments/{started['enrollment_id']}/confirm",
        json={"pin": pin, **registration(device_key)},
    ).json()
    return SignedDevice(
        http,
        device_key,
        confirmed["device"]["device_uuid"],
        confirmed["device"]["device_id"],
        clock.time,
        accounts=confirmed["accounts"],
    )


def create(http: httpx.Client, key: str, authy_id: int, message: str) -> str:
    response = http.post(
        f"/onetouch/json/users/{authy_id}/approval_requests",
        json={"message": message},
        headers=headers(key),
    )
    assert response.status_code == 200, response.text
    uuid: str = response.json()["approval_request"]["uuid"]
    return uuid


def next_event(lines: Iterator[str]) -> tuple[str, dict[str, Any]]:
    """The next ``event:``/``data:`` pair, skipping comments and the retry hint."""
    name = None
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name is not None:
            return name, json.loads(line.removeprefix("data: "))
    raise AssertionError("the stream ended")


def test_stream_sends_pending_then_new_requests(
    http: httpx.Client, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    device = enrolled(http, runtime, clock, app_key)
    authy_id = device.accounts[0]["authy_id"]
    first = create(http, app_key, authy_id, "First")
    with http.stream("GET", STREAM, headers=device.headers("GET", STREAM)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers["cache-control"] == "no-store"
        lines = response.iter_lines()
        name, data = next_event(lines)
        assert (name, data["uuid"], data["shown"]["message"]) == (
            "approval_request",
            first,
            "First",
        )
        second = create(http, app_key, authy_id, "Second")
        name, data = next_event(lines)
        assert (name, data["uuid"], data["status"]) == ("approval_request", second, "pending")
        # the device answers through the API; the stream does not repeat what it sent
        assert device.answer(data, "approved").status_code == 200
        third = create(http, app_key, authy_id, "Third")
        name, data = next_event(lines)
        assert data["uuid"] == third


def test_stream_refuses_bad_signatures_and_ends_on_revocation(
    http: httpx.Client, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    device = enrolled(http, runtime, clock, app_key)
    forged = device.headers("GET", STREAM + "?x=1")
    refused = http.get(STREAM, headers=forged)
    assert refused.status_code == 401
    assert refused.json()["error_code"] == "60087"
    with http.stream("GET", STREAM, headers=device.headers("GET", STREAM)) as response:
        assert response.status_code == 200
        lines = response.iter_lines()
        assert next(lines) == "retry: 3000"
        assert device.request("DELETE", "/device/v1/device").status_code == 200
        rest = list(lines)  # the server ends the stream once it sees the revocation
        assert not any(line.startswith("event:") for line in rest)


def test_stream_sees_requests_made_by_another_process(
    http: httpx.Client, runtime: Runtime, clock: FrozenClock, test_app: tuple[App, str]
) -> None:
    """Another node's runtime cannot wake this one's waiters (with SQLite nothing carries the
    news): the stream finds the request by re-reading the database."""
    app, key = test_app
    device = enrolled(http, runtime, clock, key)
    other = make_runtime(runtime.settings, clock)
    try:
        with http.stream("GET", STREAM, headers=device.headers("GET", STREAM)) as response:
            lines = response.iter_lines()
            assert next(lines) == "retry: 3000"
            new = approvals.validate("From afar", None, None, None, None)
            made = other.run(
                lambda tx: approvals.create(tx, app, device.accounts[0]["authy_id"], new)
            )
            started = time.monotonic()
            name, data = next_event(lines)
            assert (name, data["uuid"]) == ("approval_request", made.uuid)
            assert time.monotonic() - started < 5
    finally:
        other.db.dispose()

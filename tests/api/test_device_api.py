"""Signed-device endpoints (docs/device-protocol.md §4): approval requests (list, answer, long
poll), push address rotation, revocation by the device and by an administrator."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import update
from starlette.testclient import TestClient

from tests.api.device_flows import (
    create_request,
    enroll_by_phone,
    new_request,
    pending,
    user_status,
)
from tests.api.helpers import PHONES, assert_error, headers, register
from tests.device_client import SignedDevice
from tests.factories import queued
from tests.support import TEST_MASTER_KEY, new_app
from twostep.cli.main import cli
from twostep.clock import FrozenClock
from twostep.services.runtime import Runtime
from twostep.store.schema import device_seeds


@pytest.fixture
def user(client: TestClient, app_key: str) -> int:
    return register(client, app_key)


@pytest.fixture
def device(client: TestClient, runtime: Runtime, clock: FrozenClock, user: int) -> SignedDevice:
    assert user
    return enroll_by_phone(client, runtime, clock)


def onetouch_status(client: TestClient, key: str, uuid: str) -> Any:
    response = client.get(f"/onetouch/json/approval_requests/{uuid}", headers=headers(key))
    assert response.status_code == 200, response.text
    return response.json()["approval_request"]


def test_pending_requests_newest_first(
    client: TestClient,
    clock: FrozenClock,
    app_key: str,
    app_id: int,
    user: int,
    device: SignedDevice,
) -> None:
    assert pending(device) == []
    first = new_request(client, app_key, user, details={"IP": "10.0.0.1"})["uuid"]
    clock.advance(5)
    second = new_request(client, app_key, user, message="Pay 10 EUR?")["uuid"]
    found = pending(device)
    assert [r["uuid"] for r in found] == [second, first]
    request = found[1]
    assert set(request) == {
        "uuid", "app_id", "app_name", "status", "created_at", "expires_at", "shown",
        "shown_digest",
    }  # fmt: skip
    assert (request["app_id"], request["app_name"], request["status"]) == (
        app_id,
        "Test App",
        "pending",
    )
    assert request["expires_at"] == request["created_at"] + 86400
    assert request["shown"] == {
        "app_name": "Test App",
        "message": "Log in?",
        "details": {"IP": "10.0.0.1"},
        "logos": [],
        "number_choices": None,
    }
    listed = device.get("/device/v1/approval_requests", params={"status": "pending"})
    assert [r["uuid"] for r in listed.json()["approval_requests"]] == [second, first]
    wrong = device.get("/device/v1/approval_requests", params={"status": "approved"})
    assert_error(wrong, 400, "60004")


def test_approve_and_deny(
    client: TestClient, app_key: str, user: int, device: SignedDevice
) -> None:
    new_request(client, app_key, user)
    new_request(client, app_key, user)
    second, first = pending(device)
    approved = device.answer(first, "approved")
    assert approved.status_code == 200, approved.text
    assert approved.json()["approval_request"]["status"] == "approved"
    assert approved.json()["approval_request"]["uuid"] == first["uuid"]
    denied = device.answer(second, "denied")
    assert denied.json()["approval_request"]["status"] == "denied"
    assert onetouch_status(client, app_key, first["uuid"])["status"] == "approved"
    assert onetouch_status(client, app_key, second["uuid"])["status"] == "denied"
    assert pending(device) == []
    assert_error(device.answer(first, "denied"), 400, "60079")


def test_number_matching(
    client: TestClient, runtime: Runtime, clock: FrozenClock, user: int, device: SignedDevice
) -> None:
    app, key = new_app(runtime, "Matching App", number_matching="true")
    register(client, key)
    device_accounts = device.get("/device/v1/accounts").json()["accounts"]
    assert app.id in [a["app_id"] for a in device_accounts]
    right = new_request(client, key, user)
    wrong = new_request(client, key, user)
    shown = {r["uuid"]: r for r in pending(device)}
    assert right["number"] in shown[right["uuid"]]["shown"]["number_choices"]
    ok = device.answer(shown[right["uuid"]], "approved", number=right["number"])
    assert ok.json()["approval_request"]["status"] == "approved"
    choices = shown[wrong["uuid"]]["shown"]["number_choices"]
    other = next(n for n in choices if n != wrong["number"])
    refused = device.answer(shown[wrong["uuid"]], "approved", number=other)
    assert refused.status_code == 200
    assert refused.json()["approval_request"]["status"] == "denied"
    assert onetouch_status(client, key, wrong["uuid"])["status"] == "denied"
    assert clock


def test_answers_that_are_refused(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    app_key: str,
    user: int,
    device: SignedDevice,
) -> None:
    register(client, app_key, PHONES[1], "bob@example.com")
    bob = enroll_by_phone(client, runtime, clock, PHONES[1])
    new_request(client, app_key, user)
    [request] = pending(device)
    assert_error(bob.answer(request, "approved"), 404, "60049")  # another person's request
    unknown = {**request, "uuid": "00000000-0000-0000-0000-000000000000"}
    assert_error(device.answer(unknown, "approved"), 404, "60049")
    forged = device.answer(request, "approved", sign_status="denied")
    assert_error(forged, 400, "60004")
    stale = device.answer(request, "approved", signed_at=int(clock.time()) - 301)
    assert_error(stale, 400, "60004")
    altered = {**request, "shown": {**request["shown"], "message": "Something else"}}
    assert_error(device.answer(altered, "approved"), 400, "60004")
    bad = device.post(
        f"/device/v1/approval_requests/{request['uuid']}",
        {"status": "approved", "signed_at": int(clock.time()), "signature": "!!"},
    )
    assert_error(bad, 400, "60004")
    assert_error(device.answer(request, "maybe"), 400, "60004")
    assert pending(device) == [request]  # still pending after all that
    # a device that no longer serves the application (its seed for it revoked) cannot answer
    runtime.run(
        lambda tx: tx.conn.execute(
            update(device_seeds)
            .where(device_seeds.c.device_id == device.device_id)
            .values(revoked_at=tx.now)
        )
    )
    assert_error(device.answer(request, "approved"), 404, "60049")


def test_long_poll_wakes_when_a_request_is_created(
    client: TestClient, app_key: str, user: int, device: SignedDevice
) -> None:
    results: list[Any] = []

    def poll() -> None:
        started = time.monotonic()
        response = device.get("/device/v1/approval_requests", params={"wait": 20})
        results.append((response, time.monotonic() - started))

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.5)
    created = new_request(client, app_key, user)
    waiter.join(timeout=25)
    [(response, elapsed)] = results
    assert response.status_code == 200, response.text
    assert [r["uuid"] for r in response.json()["approval_requests"]] == [created["uuid"]]
    assert elapsed < 10
    # with something pending it answers at once; with nothing, after the wait
    started = time.monotonic()
    assert device.get("/device/v1/approval_requests", params={"wait": 20}).status_code == 200
    assert time.monotonic() - started < 5
    device.answer(pending(device)[0], "denied")
    started = time.monotonic()
    empty = device.get("/device/v1/approval_requests", params={"wait": 1})
    assert empty.json() == {"approval_requests": [], "success": True}
    assert time.monotonic() - started >= 1
    too_long = device.get("/device/v1/approval_requests", params={"wait": 61})
    assert_error(too_long, 400, "60004")


def test_push_address_rotation(
    client: TestClient, runtime: Runtime, app_key: str, user: int, device: SignedDevice
) -> None:
    create_request(client, app_key, user)
    assert queued(runtime, "push") == []
    response = device.request(
        "PUT", "/device/v1/push_address", json_body={"push_address": "fcm:tok-1"}
    )
    assert response.json() == {"success": True}
    uuid = new_request(client, app_key, user)["uuid"]
    [push] = queued(runtime, "push")
    assert push["address"] == "fcm:tok-1"
    assert push["data"] == {"uuid": uuid}
    device.request("PUT", "/device/v1/push_address", json_body={"push_address": "apns:abcdef01"})
    create_request(client, app_key, user)
    assert queued(runtime, "push")[-1]["address"] == "apns:abcdef01"
    device.request("PUT", "/device/v1/push_address", json_body={"push_address": None})
    create_request(client, app_key, user)
    assert len(queued(runtime, "push")) == 2
    bad = device.request("PUT", "/device/v1/push_address", json_body={"push_address": "sms:1"})
    assert_error(bad, 400, "60004")
    assert_error(device.request("PUT", "/device/v1/push_address", json_body={}), 400, "60004")


def test_a_device_revokes_itself(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    app_key: str,
    user: int,
    device: SignedDevice,
) -> None:
    [account] = device.accounts
    response = device.request("DELETE", "/device/v1/device")
    assert response.json() == {"success": True}
    assert_error(device.get("/device/v1/accounts"), 401, "60087")
    assert_error(device.request("DELETE", "/device/v1/device"), 401, "60087")
    status = user_status(client, app_key, user)
    assert (status["registered"], status["detailed_devices"]) == (False, [])
    assert [d["device_id"] for d in status["deleted_devices"]] == [device.device_id]
    assert_error(create_request(client, app_key, user), 400, "60050")
    # a new phone enrolment is not held back by a revoked device
    enroll_by_phone(client, runtime, clock, status=200)
    assert account["authy_id"] == user


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", database_url)
    monkeypatch.setenv("TWOSTEP_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path))


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.usefixtures("cli_env")
def test_admin_lists_and_revokes_devices(
    client: TestClient, app_key: str, app_id: int, user: int, device: SignedDevice
) -> None:
    [listed] = json.loads(run("devices", "list", "--authy-id", str(user), "--json"))
    assert (listed["device_id"], listed["authy_id"], listed["status"]) == (
        device.device_id,
        user,
        "active",
    )
    assert listed["app_ids"] == [app_id]
    assert listed["registration_method"] == "sms"
    by_phone = json.loads(run("devices", "list", "--phone", "+12015550123", "--json"))
    assert [d["device_id"] for d in by_phone] == [device.device_id]
    assert str(device.device_id) in run("devices", "list")
    unknown = CliRunner().invoke(cli, ["devices", "list", "--phone", "+12015550199"])
    assert unknown.exit_code != 0
    assert "revoked" in run("devices", "revoke", str(device.device_id))
    assert_error(device.get("/device/v1/accounts"), 401, "60087")
    revoked = json.loads(run("devices", "revoke", device.uuid, "--json"))  # twice: harmless
    assert revoked["status"] == "revoked"
    status = user_status(client, app_key, user)
    assert status["registered"] is False
    assert [d["device_id"] for d in status["deleted_devices"]] == [device.device_id]
    missing = CliRunner().invoke(cli, ["devices", "revoke", "987654"])
    assert missing.exit_code != 0
    assert "no device" in missing.output

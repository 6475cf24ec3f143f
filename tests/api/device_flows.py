"""Device enrolment and OneTouch steps shared by the device-protocol tests."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.helpers import PHONES, headers
from tests.device_client import DeviceKey, SignedDevice, registration
from tests.factories import queued
from twostep.clock import FrozenClock
from twostep.services.runtime import Runtime
from twostep.store import audit


def start(client: TestClient, phone: str = PHONES[0], via: str = "sms", **extra: Any) -> Any:
    return client.post(
        "/device/v1/enrollments",
        json={"country_code": 1, "phone_number": phone, "via": via, **extra},
    )


def last_pin(runtime: Runtime, kind: str = "sms") -> str:
    jobs = queued(runtime, kind)
    assert jobs, f"no {kind} queued"
    return str(jobs[-1]["code"])


def confirm(client: TestClient, enrollment_id: str, pin: str, key: DeviceKey, **extra: Any) -> Any:
    return client.post(
        f"/device/v1/enrollments/{enrollment_id}/confirm",
        json={"pin": pin, **registration(key, **extra)},
    )


def device_from(
    client: Any, clock: FrozenClock, key: DeviceKey, body: dict[str, Any], enrollment_id: str
) -> SignedDevice:
    device = body["device"]
    return SignedDevice(
        client,
        key,
        device["device_uuid"],
        device["device_id"],
        clock.time,
        enrollment_id,
        body.get("accounts", []),
    )


def enroll_by_phone(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    phone: str = PHONES[0],
    *,
    status: int = 200,
    **extra: Any,
) -> SignedDevice:
    started = start(client, phone)
    assert started.status_code == 200, started.text
    enrollment_id = started.json()["enrollment_id"]
    key = DeviceKey()
    response = confirm(client, enrollment_id, last_pin(runtime), key, **extra)
    assert response.status_code == status, response.text
    return device_from(client, clock, key, response.json(), enrollment_id)


def link(client: TestClient, app_key: str, authy_id: int) -> dict[str, Any]:
    response = client.post(
        f"/protected/json/users/{authy_id}/enrollment_link", headers=headers(app_key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def local(url: str) -> str:
    return url.removeprefix("http://127.0.0.1:8080")


def enroll_by_link(
    client: TestClient, clock: FrozenClock, app_key: str, authy_id: int, **extra: Any
) -> SignedDevice:
    url = local(link(client, app_key, authy_id)["enrollment_url"])
    key = DeviceKey()
    response = client.post(url, json=registration(key, **extra))
    assert response.status_code == 200, response.text
    return device_from(client, clock, key, response.json(), "")


def user_status(client: TestClient, app_key: str, authy_id: int) -> dict[str, Any]:
    response = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(app_key))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["status"]
    return body


def create_request(client: TestClient, app_key: str, authy_id: int, **body: Any) -> Any:
    return client.post(
        f"/onetouch/json/users/{authy_id}/approval_requests",
        json={"message": "Log in?", **body},
        headers=headers(app_key),
    )


def new_request(client: TestClient, app_key: str, authy_id: int, **body: Any) -> dict[str, Any]:
    response = create_request(client, app_key, authy_id, **body)
    assert response.status_code == 200, response.text
    created: dict[str, Any] = response.json()["approval_request"]
    return created


def pending(device: SignedDevice) -> list[dict[str, Any]]:
    response = device.get("/device/v1/approval_requests")
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["approval_requests"]
    return found


def events(runtime: Runtime) -> list[str]:
    """Audit events, oldest first."""
    rows = runtime.run(lambda tx: audit.recent(tx.conn, 1000), write=False)
    return [r.event for r in reversed(rows)]

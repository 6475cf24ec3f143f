"""Device enrolment (docs/device-protocol.md §2): by PIN (SMS or voice), limits, no enumeration,
SIM-swap protection (approve, cancel, automatic activation), and seeds that verify."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.device_flows import (
    confirm,
    enroll_by_phone,
    events,
    last_pin,
    start,
    user_status,
)
from tests.api.helpers import PHONES, assert_error, headers, register
from tests.device_client import DeviceKey
from tests.factories import queued
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.core import otp
from twostep.services import devices, recovery
from twostep.services.runtime import Runtime
from twostep.store.schema import device_seeds, enrollments

DAY = 24 * 3600


@pytest.fixture
def user(client: TestClient, app_key: str) -> int:
    return register(client, app_key)


def seed_of(account: dict[str, object]) -> bytes:
    text = str(account["seed"])
    return base64.b32decode(text + "=" * (-len(text) % 8))


def verify_with(
    client: TestClient, clock: FrozenClock, app_key: str, account: dict[str, object]
) -> int:
    token = otp.totp(seed_of(account), clock.time(), 10, 7)
    response = client.get(
        f"/protected/json/verify/{token}/{account['authy_id']}", headers=headers(app_key)
    )
    return response.status_code


def test_enrolment_by_sms_gives_seeds_that_verify(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, app_id: int, user: int
) -> None:
    started = start(client)
    assert started.status_code == 200
    body = started.json()
    assert set(body) == {"enrollment_id", "expires_in", "success"}
    assert body["expires_in"] == 600
    [sms] = queued(runtime, "sms")
    assert sms["to"] == "+12015550123"
    pin = str(sms["code"])
    assert len(pin) == 6
    assert pin.isdigit()
    assert pin in sms["body"]
    assert "TwoStep device registration code" in sms["body"]
    stored = runtime.run(lambda tx: tx.conn.execute(select(enrollments)).one(), write=False)
    assert pin.encode() not in stored.pin_digest  # only a keyed digest is kept

    key = DeviceKey()
    response = confirm(client, body["enrollment_id"], pin, key, push_address="fcm:abc123")
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "completed"
    assert done["success"] is True
    device = done["device"]
    assert set(device) == {"device_uuid", "device_id", "name", "os_type", "status", "created_at"}
    assert (device["name"], device["os_type"], device["status"]) == (
        "Ann's phone",
        "android",
        "active",
    )
    assert device["created_at"] == int(clock.time())
    [account] = done["accounts"]
    assert account == {
        "app_id": app_id,
        "app_name": "Test App",
        "authy_id": user,
        "seed": account["seed"],
        "digits": 7,
        "period": 10,
        "algorithm": "SHA1",
    }
    assert len(seed_of(account)) == 20
    sealed = runtime.run(lambda tx: tx.conn.execute(select(device_seeds.c.seed)).scalar_one())
    assert sealed.startswith("v1.")
    assert str(account["seed"]) not in sealed
    assert verify_with(client, clock, app_key, account) == 200

    status = user_status(client, app_key, user)
    assert status["registered"] is True
    assert status["devices"] == ["android"]
    assert [d["device_id"] for d in status["detailed_devices"]] == [device["device_id"]]
    assert status["deleted_devices"] == []
    assert "device_enrolled" in events(runtime)


@pytest.mark.usefixtures("user")
def test_enrolment_by_voice_in_the_requested_language(client: TestClient, runtime: Runtime) -> None:
    assert start(client, via="call", locale="es").status_code == 200
    [call] = queued(runtime, "voice")
    assert call["to"] == "+12015550123"
    assert call["language"] == "es"
    assert ", ".join(str(call["code"])) in call["text"]
    assert call["text"].startswith("Hola.")
    assert queued(runtime, "sms") == []


def test_unregistered_numbers_get_the_same_answer(
    client: TestClient, runtime: Runtime, user: int
) -> None:
    known = start(client, PHONES[0])
    unknown = start(client, PHONES[1])
    assert (known.status_code, unknown.status_code) == (200, 200)
    assert set(known.json()) == set(unknown.json())
    assert known.json()["expires_in"] == unknown.json()["expires_in"]
    assert len(queued(runtime, "sms")) == 1  # only the registered number got a PIN
    enrollment_id = unknown.json()["enrollment_id"]
    for _ in range(5):
        wrong = confirm(client, enrollment_id, "123456", DeviceKey())
        assert_error(wrong, 401, "60036", "Invalid PIN")
    assert_error(confirm(client, enrollment_id, "123456", DeviceKey()), 404, "60035")
    assert user


@pytest.mark.usefixtures("user")
def test_five_wrong_pins_end_the_enrolment(client: TestClient, runtime: Runtime) -> None:
    enrollment_id = start(client).json()["enrollment_id"]
    pin = last_pin(runtime)
    wrong = f"{(int(pin) + 1) % 1_000_000:06d}"
    for attempt in range(5):
        response = confirm(client, enrollment_id, wrong if attempt else "12ab", DeviceKey())
        assert_error(response, 401, "60036", "Invalid PIN")
    assert_error(confirm(client, enrollment_id, pin, DeviceKey()), 404, "60035")
    assert events(runtime).count("device_pin_invalid") == 5


@pytest.mark.usefixtures("user")
def test_expired_unknown_and_used_enrolments(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    enrollment_id = start(client).json()["enrollment_id"]
    clock.advance(601)
    response = confirm(client, enrollment_id, last_pin(runtime), DeviceKey())
    assert_error(response, 404, "60035", "Enrollment not found")
    assert_error(confirm(client, "nope", "123456", DeviceKey()), 404, "60035")
    assert_error(confirm(client, "x" * 300, "123456", DeviceKey()), 404, "60035")
    fresh = start(client).json()["enrollment_id"]
    pin = last_pin(runtime)
    assert confirm(client, fresh, pin, DeviceKey()).status_code == 200
    assert_error(confirm(client, fresh, pin, DeviceKey()), 404, "60035")


def test_three_starts_per_number_per_ten_minutes(
    client: TestClient, clock: FrozenClock, user: int
) -> None:
    for phone in (PHONES[0], PHONES[1]):  # registered or not: the same limit
        for _ in range(3):
            assert start(client, phone).status_code == 200
        assert_error(start(client, phone), 429, "60003")
    assert start(client, PHONES[2]).status_code == 200
    clock.advance(601)
    assert start(client, PHONES[0]).status_code == 200
    assert user


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("public_key", "AAAA", "60004"),
        ("public_key", None, "60004"),
        # the identity point, of small order: any signature "verifies" under it in lax checkers
        (
            "public_key",
            base64.urlsafe_b64encode(bytes([1]) + bytes(31)).decode().rstrip("="),
            "60004",
        ),
        ("name", "", "60004"),
        ("name", "x" * 101, "60004"),
        ("os_type", "Android 14!", "60004"),
        ("push_address", "smtp:someone", "60004"),
        ("push_address", "ntfy:not a url", "60004"),
        ("push_address", "fcm:" + "a" * 3000, "60004"),
        ("pin", None, "60004"),
    ],
)
def test_confirm_validates_the_device(
    client: TestClient, runtime: Runtime, field: str, value: object, code: str
) -> None:
    enrollment_id = start(client).json()["enrollment_id"]
    body = {"pin": last_pin(runtime), "public_key": DeviceKey().public_b64, "name": "Phone"}
    body |= {"os_type": "ios", field: value}
    response = client.post(f"/device/v1/enrollments/{enrollment_id}/confirm", json=body)
    assert_error(response, 400, code)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"country_code": 1, "phone_number": "201-555-0123", "via": "pigeon"}, "60004"),
        ({"country_code": 1, "phone_number": "12", "via": "sms"}, "60033"),
        ({"country_code": 999, "phone_number": "201-555-0123", "via": "sms"}, "60033"),
        (
            {"country_code": 1, "phone_number": "201-555-0123", "via": "sms", "locale": "xx"},
            "60004",
        ),
    ],
)
def test_start_validates(client: TestClient, body: dict[str, object], code: str) -> None:
    assert_error(client.post("/device/v1/enrollments", json=body), 400, code)


# --- SIM-swap protection ---------------------------------------------------------------------


@pytest.mark.usefixtures("user")
def test_a_second_device_waits_for_approval_by_the_first(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    first = enroll_by_phone(client, runtime, clock, push_address="ntfy:https://ntfy.example/ann")
    second = enroll_by_phone(client, runtime, clock, status=202)
    pending_body = second.get(f"/device/v1/enrollments/{second.enrollment_id}").json()
    assert pending_body["status"] == "pending_approval"
    assert pending_body["activates_at"] == int(clock.time()) + DAY
    assert pending_body["device"]["status"] == "pending"
    assert "accounts" not in pending_body
    [push] = queued(runtime, "push")
    assert push["address"] == "ntfy:https://ntfy.example/ann"
    assert push["data"] == {
        "event": "account_recovery_started",
        "enrollment_id": second.enrollment_id,
    }
    # a pending device may do nothing else
    assert_error(second.get("/device/v1/accounts"), 401, "60087")
    assert_error(second.get("/device/v1/enrollments"), 401, "60087")
    # the existing device sees it and approves it
    listed = first.get("/device/v1/enrollments").json()["enrollments"]
    assert [e["enrollment_id"] for e in listed] == [second.enrollment_id]
    assert listed[0]["device"]["device_uuid"] == second.uuid
    assert listed[0]["activates_at"] == int(clock.time()) + DAY
    approved = first.post(f"/device/v1/enrollments/{second.enrollment_id}/approve")
    assert approved.status_code == 200, approved.text
    assert approved.json()["enrollment"]["status"] == "completed"
    assert approved.json()["enrollment"]["device"]["status"] == "active"
    done = second.get(f"/device/v1/enrollments/{second.enrollment_id}").json()
    assert done["status"] == "completed"
    [account] = done["accounts"]
    assert verify_with(client, clock, app_key, account) == 200
    assert second.get("/device/v1/accounts").status_code == 200
    assert first.get("/device/v1/enrollments").json()["enrollments"] == []
    assert [p["data"]["event"] for p in queued(runtime, "push")] == [
        "account_recovery_started",
        "account_recovery_approved",
    ]
    assert [e for e in events(runtime) if e.startswith("account_recovery")] == [
        "account_recovery_started",
        "account_recovery_approved",
    ]
    again = first.post(f"/device/v1/enrollments/{second.enrollment_id}/approve")
    assert_error(again, 404, "60035")


def test_an_existing_device_cancels_a_recovery(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    first = enroll_by_phone(client, runtime, clock)
    second = enroll_by_phone(client, runtime, clock, status=202)
    canceled = first.post(f"/device/v1/enrollments/{second.enrollment_id}/cancel")
    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["enrollment"]["status"] == "canceled"
    assert canceled.json()["enrollment"]["device"]["status"] == "revoked"
    seen = second.get(f"/device/v1/enrollments/{second.enrollment_id}")
    assert seen.status_code == 200
    assert seen.json()["status"] == "canceled"
    assert "accounts" not in seen.json()
    assert_error(second.get("/device/v1/accounts"), 401, "60087")
    assert "account_recovery_canceled" in events(runtime)
    clock.advance(DAY + 1)
    assert runtime.run(recovery.activate_due) == 0
    assert [d["device_id"] for d in user_status(client, app_key, user)["detailed_devices"]] == [
        first.device_id
    ]


@pytest.mark.usefixtures("user")
def test_the_recovery_period_activates_the_device(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    first = enroll_by_phone(client, runtime, clock)
    second = enroll_by_phone(client, runtime, clock, status=202)
    clock.advance(DAY - 1)
    assert runtime.run(recovery.activate_due) == 0
    assert_error(second.get("/device/v1/accounts"), 401, "60087")
    clock.advance(1)
    assert runtime.run(recovery.activate_due) == 1
    [account] = second.get("/device/v1/accounts").json()["accounts"]
    clock.advance(20)  # a fresh time-step: the first device's codes are separate anyway
    assert verify_with(client, clock, app_key, account) == 200
    too_late = first.post(f"/device/v1/enrollments/{second.enrollment_id}/cancel")
    assert_error(too_late, 404, "60035")
    assert "account_recovery_approved" in events(runtime)


@pytest.mark.usefixtures("user")
def test_the_waiting_device_is_activated_when_it_asks_after_the_period(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    enroll_by_phone(client, runtime, clock)
    second = enroll_by_phone(client, runtime, clock, status=202)
    clock.advance(DAY)
    body = second.get(f"/device/v1/enrollments/{second.enrollment_id}").json()
    assert body["status"] == "completed"
    assert len(body["accounts"]) == 1
    assert runtime.run(recovery.activate_due) == 0


@pytest.mark.usefixtures("user")
@pytest.mark.parametrize("settings_overrides", [{"recovery_period_seconds": 0}])
def test_no_recovery_period_means_no_waiting(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    enroll_by_phone(client, runtime, clock)
    enroll_by_phone(client, runtime, clock, status=200)


def test_another_persons_device_cannot_decide(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    register(client, app_key, PHONES[1], "bob@example.com")
    enroll_by_phone(client, runtime, clock)
    bob = enroll_by_phone(client, runtime, clock, PHONES[1])
    second = enroll_by_phone(client, runtime, clock, status=202)
    assert bob.get("/device/v1/enrollments").json()["enrollments"] == []
    for action in ("approve", "cancel"):
        response = bob.post(f"/device/v1/enrollments/{second.enrollment_id}/{action}")
        assert_error(response, 404, "60035")
    # nor read it
    assert_error(bob.get(f"/device/v1/enrollments/{second.enrollment_id}"), 404, "60035")
    assert user


def test_a_new_application_gives_enrolled_devices_a_new_account(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_id: int, user: int
) -> None:
    device = enroll_by_phone(client, runtime, clock)
    other, other_key = new_app(runtime, "Other App")
    assert register(client, other_key) == user
    accounts = device.get("/device/v1/accounts").json()["accounts"]
    assert [(a["app_id"], a["app_name"]) for a in accounts] == [
        (app_id, "Test App"),
        (other.id, "Other App"),
    ]
    assert verify_with(client, clock, other_key, accounts[1]) == 200
    assert user_status(client, other_key, user)["registered"] is True
    # registering again changes nothing
    assert register(client, other_key) == user
    assert len(device.get("/device/v1/accounts").json()["accounts"]) == 2


@pytest.mark.usefixtures("user")
def test_a_waiting_device_revoked_by_an_administrator_never_activates(
    client: TestClient, runtime: Runtime, clock: FrozenClock
) -> None:
    first = enroll_by_phone(client, runtime, clock)
    second = enroll_by_phone(client, runtime, clock, status=202)
    runtime.run(lambda tx: devices.revoke_by_admin(tx, second.uuid))
    clock.advance(DAY)
    assert runtime.run(recovery.activate_due) == 0
    body = second.get(f"/device/v1/enrollments/{second.enrollment_id}").json()
    assert (body["status"], body["device"]["status"]) == ("canceled", "revoked")
    assert first.get("/device/v1/enrollments").json()["enrollments"] == []

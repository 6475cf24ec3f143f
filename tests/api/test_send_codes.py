"""T1 sms, T2 call, T3 email (spec §4) through HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.factories import add_device, queued
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.services.runtime import Runtime
from twostep.store.schema import persons


@pytest.fixture
def user(client: TestClient, app_key: str) -> int:
    return register(client, app_key, "201-555-0134", "ann@example.com")


def test_sms_exact_body_and_queued_message(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    response = client.get(f"/protected/json/sms/{user}", headers=headers(app_key))
    assert response.status_code == 200
    assert response.content == (
        b'{"success":true,"message":"SMS token was sent","cellphone":"+1-XXX-XXX-XX34"}'
    )
    [job] = queued(runtime, "sms")
    assert job["to"] == "+12015550134"
    assert len(job["code"]) == 7
    assert job["body"] == f"Your Test App verification code is: {job['code']}"


def test_call_exact_body_and_spelled_digits(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    response = client.get(f"/protected/json/call/{user}", headers=headers(app_key))
    assert response.json() == {
        "success": True,
        "message": "Call started...",
        "cellphone": "+1-XXX-XXX-XX34",
    }
    [job] = queued(runtime, "voice")
    spelled = ", ".join(job["code"])
    assert job["text"].count(spelled) == 2
    assert job["language"] == "en"


def test_email_body(client: TestClient, runtime: Runtime, app_key: str, user: int) -> None:
    response = client.post(f"/protected/json/email/{user}", headers=headers(app_key))
    body = response.json()
    assert list(body) == ["success", "message", "email", "email_id"]
    assert body["message"] == "Email token was sent"
    assert body["email"] == "ann@example.com"
    assert body["email_id"].startswith("EM")
    assert len(body["email_id"]) == 34
    [job] = queued(runtime, "email")
    assert job["to"] == "ann@example.com"
    assert job["code"] in job["body"]
    assert "10 minutes" in job["body"]


def test_token_length_follows_the_app_setting(client: TestClient, runtime: Runtime) -> None:
    key = new_app(runtime, "Eight", token_length="8")[1]
    user = register(client, key)
    client.get(f"/protected/json/sms/{user}", headers=headers(key))
    assert len(queued(runtime, "sms")[-1]["code"]) == 8


def test_locale_parameter_and_country_default(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    client.get(f"/protected/json/sms/{user}", params={"locale": "es"}, headers=headers(app_key))
    assert queued(runtime, "sms")[-1]["body"].startswith("Tu código")
    brazil = register(client, app_key, "11 96123 4567", country_code=55)
    client.get(f"/protected/json/call/{brazil}", headers=headers(app_key))
    assert queued(runtime, "voice")[-1]["language"] == "pt"


def test_unsupported_locale_is_a_400(client: TestClient, app_key: str, user: int) -> None:
    response = client.get(
        f"/protected/json/sms/{user}", params={"locale": "xx"}, headers=headers(app_key)
    )
    body = assert_error(response, 400, "60004")
    assert "locale" in body["message"]


def test_action_message_is_included(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    client.get(
        f"/protected/json/sms/{user}",
        params={"action": "wire-42", "action_message": "Approve wire of $42"},
        headers=headers(app_key),
    )
    assert queued(runtime, "sms")[-1]["body"].startswith("Approve wire of $42\n")


def test_registered_users_are_ignored_unless_forced(
    client: TestClient, runtime: Runtime, app_key: str, app_id: int, user: int
) -> None:
    add_device(runtime, user, app_id, os_type="android")
    sms = client.get(f"/protected/json/sms/{user}", headers=headers(app_key))
    assert sms.json() == {
        "message": "Ignored: SMS is not needed for smartphones. Pass force=true if you want to "
        "actually send it anyway.",
        "cellphone": "+1-XXX-XXX-XX34",
        "device": "android",
        "ignored": True,
        "success": True,
    }
    call = client.get(f"/protected/json/call/{user}", headers=headers(app_key))
    assert call.json()["message"] == (
        "Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true "
        "if you still want to call users that are using the App."
    )
    assert call.json()["ignored"] is True
    assert queued(runtime) == []
    for force in ("true", "True", "1"):
        forced = client.get(
            f"/protected/json/sms/{user}", params={"force": force}, headers=headers(app_key)
        )
        assert "ignored" not in forced.json()
    assert len(queued(runtime, "sms")) == 3
    status = client.get(f"/protected/json/users/{user}/status", headers=headers(app_key)).json()
    assert status["status"]["registered"] is True
    assert status["status"]["devices"] == ["android"]
    assert status["status"]["detailed_devices"][0]["os_type"] == "android"


def test_revoked_devices_do_not_count(
    client: TestClient, runtime: Runtime, app_key: str, app_id: int, user: int
) -> None:
    add_device(runtime, user, app_id, status="revoked")
    assert (
        "ignored" not in client.get(f"/protected/json/sms/{user}", headers=headers(app_key)).json()
    )
    status = client.get(f"/protected/json/users/{user}/status", headers=headers(app_key)).json()
    assert status["status"]["registered"] is False
    assert len(status["status"]["deleted_devices"]) == 1


@pytest.mark.parametrize(
    ("setting", "path", "code"),
    [
        ("sms_enabled", "sms", "60007"),
        ("phone_calls_enabled", "call", "60006"),
        ("email_enabled", "email", "60108"),
    ],
)
def test_disabled_channels(
    client: TestClient, runtime: Runtime, setting: str, path: str, code: str
) -> None:
    key = new_app(runtime, "Quiet", **{setting: "false"})[1]
    user = register(client, key)
    method = client.post if path == "email" else client.get
    response = method(f"/protected/json/{path}/{user}", headers=headers(key))
    body = assert_error(response, 403, code)
    assert "not enabled" in body["message"]


def test_send_rate_limit_per_user(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    for _ in range(runtime.settings.send_limit):
        assert (
            client.get(f"/protected/json/sms/{user}", headers=headers(app_key)).status_code == 200
        )
    limited = client.get(f"/protected/json/sms/{user}", headers=headers(app_key))
    assert_error(limited, 429, "60003", "DoS protection")
    clock.advance(runtime.settings.send_window_seconds + 1)
    assert client.get(f"/protected/json/sms/{user}", headers=headers(app_key)).status_code == 200


def test_unknown_users(client: TestClient, app_key: str) -> None:
    for method, path in (("GET", "sms"), ("GET", "call"), ("POST", "email")):
        response = client.request(method, f"/protected/json/{path}/777", headers=headers(app_key))
        assert_error(response, 404, "60026", "User not found.")


def test_overlong_action_is_refused(client: TestClient, app_key: str, user: int) -> None:
    response = client.get(
        f"/protected/json/sms/{user}", params={"action": "a" * 256}, headers=headers(app_key)
    )
    assert_error(response, 400, "60004")


def _stored_region(runtime: Runtime, authy_id: int) -> str | None:
    return runtime.run(
        lambda tx: tx.conn.execute(
            select(persons.c.region).where(persons.c.id == authy_id)
        ).scalar()
    )


def test_registration_stores_the_region_and_older_rows_find_it(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    brazil = register(client, app_key, "11 96123 4567", country_code=55)
    puerto_rico = register(client, app_key, "787-234-5678", "pr@example.com")  # +1, not "US"
    assert _stored_region(runtime, brazil) == "BR"
    assert _stored_region(runtime, puerto_rico) == "PR"
    client.get(f"/protected/json/call/{brazil}", headers=headers(app_key))
    assert queued(runtime, "voice")[-1]["language"] == "pt"
    # a person created before migration 0006 (or by an older node during an upgrade): no region
    runtime.run(
        lambda tx: tx.conn.execute(
            update(persons).where(persons.c.id == brazil).values(region=None)
        )
    )
    client.get(f"/protected/json/call/{brazil}", headers=headers(app_key))
    assert queued(runtime, "voice")[-1]["language"] == "pt"

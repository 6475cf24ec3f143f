"""The real `authy` Python client (v2.2.6) against a live TwoStep server."""

from __future__ import annotations

import struct

import httpx
from authy.api import AuthyApiClient

from tests.clients.conftest import Outbox
from tests.support import LiveServer


def test_user_lifecycle(live: LiveServer, app_key: str) -> None:
    api = AuthyApiClient(app_key, live.url)
    user = api.users.create("ann@example.com", "201-555-0123", 1)
    assert user.ok(), user.errors()
    assert isinstance(user.id, int)
    again = api.users.create("ann+2@example.com", "2015550123", 1)
    assert again.id == user.id

    status = api.users.status(user.id)
    assert status.ok()
    assert status.content["status"]["authy_id"] == user.id
    assert status.content["status"]["registered"] is False

    deleted = api.users.delete(user.id)
    assert deleted.ok()
    assert deleted.content["message"] == "User removed from application"
    assert api.users.status(user.id).content["status"]["account_disabled"] is True


def test_validation_errors_surface_through_the_client(live: LiveServer, app_key: str) -> None:
    api = AuthyApiClient(app_key, live.url)
    user = api.users.create("not-an-email", "201-555-0123", 1)
    assert not user.ok()
    assert user.errors()["email"] == "is invalid"
    assert user.errors()["message"] == "User was not valid"


def test_unknown_user_and_bad_key(live: LiveServer, app_key: str) -> None:
    status = AuthyApiClient(app_key, live.url).users.status(123456)
    assert not status.ok()
    assert status.errors()["message"] == "User not found."
    bad = AuthyApiClient("not-the-key", live.url).users.status(1)
    assert bad.response.status_code == 401
    assert bad.errors()["message"] == "Invalid API key"


PHONE = "+12015550123"  # 201-555-0123, country code 1
MASK = "+1-XXX-XXX-XX23"


def other_code(code: str) -> str:
    """A well-formed code of the same length that is not ``code``."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def register(api: AuthyApiClient) -> int:
    user = api.users.create("ann@example.com", "201-555-0123", 1)
    assert user.ok(), user.errors()
    assert isinstance(user.id, int)
    return user.id


def test_sms_then_verify_then_replay(live: LiveServer, app_key: str, outbox: Outbox) -> None:
    api = AuthyApiClient(app_key, live.url)
    authy_id = register(api)

    sms = api.users.request_sms(authy_id)
    assert sms.ok(), sms.errors()
    assert sms.content == {"success": True, "message": "SMS token was sent", "cellphone": MASK}
    assert sms.ignored() is False
    code = outbox.next_code(PHONE)
    assert len(code) == 7

    wrong = api.tokens.verify(authy_id, other_code(code))
    assert not wrong.ok()
    assert wrong.response.status_code == 401
    assert wrong.errors()["message"] == "Token is invalid"

    verified = api.tokens.verify(authy_id, code)
    assert verified.ok(), verified.response.text
    assert b'"token":"is valid"' in verified.response.content
    assert verified.content["message"] == "Token is valid."
    assert api.users.status(authy_id).content["status"]["confirmed"] is True

    replay = api.tokens.verify(authy_id, code)
    assert not replay.ok()
    assert replay.response.status_code == 401
    assert replay.errors()["message"] == "Token is invalid. Token was used recently."
    assert replay.content["error_code"] == "60019"


def test_forced_sms_and_call(live: LiveServer, app_key: str, outbox: Outbox) -> None:
    api = AuthyApiClient(app_key, live.url)
    authy_id = register(api)

    forced = api.users.request_sms(authy_id, {"force": True})
    assert forced.ok(), forced.errors()
    assert forced["cellphone"] == MASK
    assert forced.ignored() is False
    sms_code = outbox.next_code(PHONE)

    call = api.users.request_call(authy_id, {"force": True})
    assert call.ok(), call.errors()
    assert call.content == {"success": True, "message": "Call started...", "cellphone": MASK}
    assert call.ignored() is False
    call_code = outbox.next_code(PHONE, "voice")

    verified = api.tokens.verify(authy_id, call_code)
    assert verified.ok(), verified.response.text
    # accepting one code retires every other outstanding code of the user
    assert not api.tokens.verify(authy_id, sms_code).ok()


def test_action_binding(live: LiveServer, app_key: str, outbox: Outbox) -> None:
    api = AuthyApiClient(app_key, live.url)
    authy_id = register(api)

    sms = api.users.request_sms(authy_id, {"action": "login", "action_message": "Sign in"})
    assert sms.ok(), sms.errors()
    message = outbox.next_message(PHONE)
    assert message.code is not None
    assert "Sign in" in message.body

    unbound = api.tokens.verify(authy_id, message.code)
    assert not unbound.ok()
    assert unbound.errors()["message"] == "Token is invalid"
    other_action = api.tokens.verify(authy_id, message.code, {"action": "logout"})
    assert not other_action.ok()

    bound = api.tokens.verify(authy_id, message.code, {"action": "login"})
    assert bound.ok(), bound.response.text


def test_verify_for_unknown_user(live: LiveServer, app_key: str) -> None:
    unknown = AuthyApiClient(app_key, live.url).tokens.verify(987654, "1234567")
    assert not unknown.ok()
    assert unknown.response.status_code == 404
    assert unknown.errors()["message"] == "User doesn't exist"


def test_generate_qr_serves_a_png(live: LiveServer, app_key: str) -> None:
    api = AuthyApiClient(app_key, live.url)
    authy_id = register(api)

    qr = api.users.generate_qr(authy_id, size=200, label="ann")
    assert qr.ok(), qr.errors()
    assert qr["label"] == "ann"
    url = qr["qr_code"]
    assert url.startswith(live.url + "/")

    image = httpx.get(url)
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", image.content[16:24])  # the IHDR chunk
    assert width == height
    assert 150 <= width <= 250  # whole pixels per module: near the size asked for, not 300

    unknown = api.users.generate_qr(987654, size=200, label="ann")
    assert unknown.response.status_code == 404

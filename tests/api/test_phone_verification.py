"""Phone verification (spec §7 P1 start, P2 check, P3 status) through HTTP."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers
from tests.factories import queued
from tests.support import new_app
from twostep.api import app as api_app
from twostep.api.routes import app as app_routes
from twostep.api.routes import phones as phone_routes
from twostep.clock import FrozenClock
from twostep.services import apps, stats
from twostep.services.runtime import Runtime
from twostep.store.schema import audit_log, phone_verifications

START = "/protected/json/phones/verification/start"
CHECK = "/protected/json/phones/verification/check"
STATUS = "/protected/json/phones/verification/status"
NUMBER = {"country_code": 1, "phone_number": "201-555-0123"}
NOT_FOUND = "No pending verifications for +1 201-555-0123 found."
INCORRECT = "Verification code is incorrect"


@pytest.fixture(autouse=True)
def _phone_and_app_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the P/A routes even before the lead wires them into ``all_routes``."""
    present = {getattr(r, "path", None) for r in api_app.all_routes()}
    mine = [r for r in [*phone_routes.routes, *app_routes.routes] if r.path not in present]
    if mine:
        wired = api_app.all_routes
        monkeypatch.setattr(api_app, "all_routes", lambda: [*wired(), *mine])


def start(client: TestClient, key: str, **params: Any) -> Any:
    return client.post(START, json={**NUMBER, **params}, headers=headers(key))


def check(client: TestClient, key: str, code: str, **params: Any) -> Any:
    query = {**NUMBER, "verification_code": code, **params}
    return client.get(CHECK, params=query, headers=headers(key))


def sandbox_key(runtime: Runtime) -> str:
    return runtime.run(lambda tx: apps.create(tx, "Sandbox App 1", sandbox=True))[1]


def test_sms_start_exact_body_and_queued_message(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    response = start(client, app_key)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == [
        "carrier",
        "is_cellphone",
        "is_ported",
        "message",
        "seconds_to_expire",
        "uuid",
        "success",
    ]
    assert len(body["uuid"]) == 36
    assert body == {
        "carrier": None,  # no offline carrier data for +1 numbers
        "is_cellphone": True,
        "is_ported": False,
        "message": "Text message sent to +1 201-555-0123.",
        "seconds_to_expire": 600,
        "uuid": body["uuid"],
        "success": True,
    }
    assert response.content.startswith(b'{"carrier":null,"is_cellphone":true,"is_ported":false,')
    [job] = queued(runtime, "sms")
    assert job["to"] == "+12015550123"
    assert job["sandbox"] is False
    assert len(job["code"]) == 4
    assert job["code"].isdigit()
    assert job["body"] == f"Your Test App verification code is: {job['code']}"


def test_call_start_message_and_spelled_code(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    body = start(client, app_key, via="call").json()
    assert body["message"] == "Call to +1 201-555-0123 initiated."
    assert queued(runtime, "sms") == []
    [job] = queued(runtime, "voice")
    assert job["to"] == "+12015550123"
    assert job["language"] == "en"
    assert job["text"].count(", ".join(job["code"])) == 2


@pytest.mark.parametrize(
    ("country_code", "number", "carrier", "cellphone"),
    [
        (49, "1512 3456789", "T-Mobile", True),
        (61, "412 345 678", "Optus", True),
        (44, "20 7946 0000", None, False),
    ],
)
def test_carrier_and_cellphone_from_offline_data(
    client: TestClient, app_key: str, country_code: int, number: str, carrier: Any, cellphone: bool
) -> None:
    body = start(client, app_key, country_code=country_code, phone_number=number).json()
    assert body["carrier"] == carrier
    assert body["is_cellphone"] is cellphone
    assert body["is_ported"] is False


def test_locale_parameter_and_country_default(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    spanish = start(client, app_key, locale="es").json()
    assert spanish["message"] == "Mensaje de texto enviado a +1 201-555-0123."
    assert queued(runtime, "sms")[-1]["body"].startswith("Tu código")
    called = start(client, app_key, locale="es", via="call", phone_number="201-555-0134").json()
    assert called["message"] == "Llamada a +1 201-555-0134 fue iniciada."
    brazil = start(client, app_key, country_code=55, phone_number="11 96123 4567").json()
    assert brazil["message"].endswith("+55 11 96123-4567.")
    assert brazil["message"] != "Text message sent to +55 11 96123-4567."
    unsupported = start(client, app_key, locale="xx")
    assert "locale" in assert_error(unsupported, 400, "60004")["message"]


@pytest.mark.parametrize(
    ("params", "status", "code", "message"),
    [
        ({"country_code": None}, 400, "60004", "Invalid parameter: country_code - Parameter is required"),
        ({"phone_number": ""}, 400, "60004", "Invalid parameter: phone_number - Parameter is required"),
        ({"phone_number": "123"}, 400, "60033", "Phone number is invalid"),
        ({"country_code": 999}, 400, "60033", "Phone number is invalid"),
        ({"via": "email"}, 400, "60004", "Invalid parameter: via - Must be one of sms, call"),
        ({"code_length": 3}, 400, "60004", "Invalid parameter: code_length - Must be between 4 and 10"),
        ({"code_length": "11"}, 400, "60004", None),
        ({"code_length": "six"}, 400, "60004", None),
    ],
)  # fmt: skip
def test_start_refuses_bad_parameters(
    client: TestClient,
    runtime: Runtime,
    app_key: str,
    params: dict[str, Any],
    status: int,
    code: str,
    message: str | None,
) -> None:
    assert_error(start(client, app_key, **params), status, code, message)
    assert queued(runtime) == []


@pytest.mark.parametrize("length", [4, 6, "8", 10])
def test_code_length(client: TestClient, runtime: Runtime, app_key: str, length: Any) -> None:
    assert start(client, app_key, code_length=length).status_code == 200
    assert len(queued(runtime, "sms")[-1]["code"]) == int(length)


def test_check_accepts_the_code_once(client: TestClient, runtime: Runtime, app_key: str) -> None:
    start(client, app_key)
    code = queued(runtime, "sms")[-1]["code"]
    ok = check(client, app_key, code)
    assert ok.status_code == 200
    assert ok.content == b'{"message":"Verification code is correct.","success":true}'
    again = check(client, app_key, code)
    assert_error(again, 404, "60023", NOT_FOUND)


def test_wrong_code_exact_body_then_right_code(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    start(client, app_key)
    code = queued(runtime, "sms")[-1]["code"]
    wrong = check(client, app_key, "0000" if code != "0000" else "1111")
    assert wrong.status_code == 401
    assert wrong.json() == {
        "message": INCORRECT,
        "success": False,
        "errors": {"message": INCORRECT},
        "error_code": "60022",
    }
    assert check(client, app_key, code).status_code == 200


def test_five_wrong_codes_fail_the_verification(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    start(client, app_key, code_length=6)
    code = queued(runtime, "sms")[-1]["code"]
    wrong = str((int(code) + 1) % 10**6).zfill(6)
    for _ in range(5):
        assert_error(check(client, app_key, wrong), 401, "60022", INCORRECT)
    assert_error(check(client, app_key, code), 404, "60023", NOT_FOUND)
    status = client.get(STATUS, params=NUMBER, headers=headers(app_key)).json()
    assert status["status"] == "expired"
    # a new start gives a fresh chance
    start(client, app_key)
    assert check(client, app_key, queued(runtime, "sms")[-1]["code"]).status_code == 200


def test_expired_codes_are_not_found(
    client: TestClient, runtime: Runtime, app_key: str, clock: FrozenClock
) -> None:
    start(client, app_key)
    code = queued(runtime, "sms")[-1]["code"]
    clock.advance(599)
    status = client.get(STATUS, params=NUMBER, headers=headers(app_key)).json()
    assert (status["status"], status["seconds_to_expire"]) == ("pending", 1)
    clock.advance(1)
    assert_error(check(client, app_key, code), 404, "60023", NOT_FOUND)


def test_a_new_start_replaces_the_pending_code(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    first = start(client, app_key, code_length=8).json()["uuid"]
    old = queued(runtime, "sms")[-1]["code"]
    second = start(client, app_key, code_length=8).json()["uuid"]
    new = queued(runtime, "sms")[-1]["code"]
    assert first != second
    if old != new:
        assert_error(check(client, app_key, old), 401, "60022")
    assert check(client, app_key, new).status_code == 200


def test_five_starts_per_number_per_ten_minutes(
    client: TestClient, runtime: Runtime, app_key: str, clock: FrozenClock
) -> None:
    for _ in range(5):
        assert start(client, app_key).status_code == 200
        clock.advance(60)
    assert_error(start(client, app_key), 429, "60003", "DoS protection")
    assert start(client, app_key, phone_number="201-555-0134").status_code == 200
    assert len(queued(runtime, "sms")) == 6
    clock.advance(301)  # the first start leaves the window
    assert start(client, app_key).status_code == 200


def test_parameters_in_a_form_body_on_get(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    start(client, app_key)
    code = queued(runtime, "sms")[-1]["code"]
    form = {"api_key": app_key, **NUMBER, "verification_code": code}
    response = client.request(
        "GET",
        CHECK,
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    status = client.request(
        "GET",
        STATUS,
        content=urlencode({"api_key": app_key, **NUMBER}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status.json()["status"] == "verified"


def test_check_errors(client: TestClient, app_key: str) -> None:
    assert_error(check(client, app_key, "1234"), 404, "60023", NOT_FOUND)
    bad_number = check(client, app_key, "1234", phone_number="12")
    assert_error(bad_number, 400, "60033", "Phone number is invalid")
    for malformed in ("12a4", "123", "12345678901"):
        body = assert_error(check(client, app_key, malformed), 400, "60004")
        assert body["message"] == "Invalid parameter: verification_code - Must be 4 to 10 digits"
    missing = client.get(CHECK, params=NUMBER, headers=headers(app_key))
    assert_error(
        missing, 400, "60004", "Invalid parameter: verification_code - Parameter is required"
    )


def test_status(client: TestClient, runtime: Runtime, app_key: str, clock: FrozenClock) -> None:
    none = client.get(STATUS, params=NUMBER, headers=headers(app_key))
    assert_error(none, 404, "60023", NOT_FOUND)
    start(client, app_key)
    clock.advance(100)
    pending = client.get(STATUS, params=NUMBER, headers=headers(app_key))
    assert pending.content == (
        b'{"status":"pending","seconds_to_expire":500,"message":"Verification is pending.",'
        b'"success":true}'
    )
    check(client, app_key, queued(runtime, "sms")[-1]["code"])
    verified = client.get(STATUS, params=NUMBER, headers=headers(app_key)).json()
    assert verified == {
        "status": "verified",
        "seconds_to_expire": 0,
        "message": "Phone number has been verified.",
        "success": True,
    }
    clock.advance(3600)
    assert client.get(STATUS, params=NUMBER, headers=headers(app_key)).json()["status"] == (
        "verified"
    )


def test_verifications_belong_to_one_application(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    other = new_app(runtime, "Other")[1]
    start(client, app_key)
    code = queued(runtime, "sms")[-1]["code"]
    assert_error(check(client, other, code), 404, "60023")
    assert check(client, app_key, code).status_code == 200


def test_custom_message_needs_the_setting(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    refused = start(client, app_key, custom_message="Code: {{code}}")
    assert_error(refused, 403, "60091", "Custom messages are not allowed for this application")
    key = new_app(runtime, "Acme", custom_message_enabled="true")[1]
    start(client, key, custom_message="Acme code {{code}}. Again: {{code}}")
    job = queued(runtime, "sms")[-1]
    assert job["body"] == f"Acme code {job['code']}. Again: {job['code']}"
    start(client, key, custom_message="Welcome to Acme!", phone_number="201-555-0134")
    job = queued(runtime, "sms")[-1]
    assert job["body"] == f"Welcome to Acme!\nYour Acme verification code is: {job['code']}"
    start(client, key, custom_message="Acme: {{code}}", via="call", phone_number="201-555-0145")
    voice = queued(runtime, "voice")[-1]
    assert voice["text"] == "Acme: " + ", ".join(voice["code"])


def test_custom_code_needs_the_setting(client: TestClient, runtime: Runtime, app_key: str) -> None:
    refused = start(client, app_key, custom_code="123456")
    assert_error(refused, 403, "60091", "Custom codes are not allowed for this application")
    key = new_app(runtime, "Acme", custom_code_enabled="true")[1]
    assert_error(start(client, key, custom_code="12a4"), 400, "60004")
    assert_error(start(client, key, custom_code="123"), 400, "60004")
    assert start(client, key, custom_code="98765", code_length=4).status_code == 200
    assert queued(runtime, "sms")[-1]["code"] == "98765"  # its own length wins
    assert check(client, key, "98765").status_code == 200


@pytest.mark.parametrize(
    ("setting", "via", "code"), [("sms_enabled", "sms", "60007"), ("phone_calls_enabled", "call", "60006")]
)  # fmt: skip
def test_disabled_channels(
    client: TestClient, runtime: Runtime, setting: str, via: str, code: str
) -> None:
    key = new_app(runtime, "Quiet", **{setting: "false"})[1]
    assert_error(start(client, key, via=via), 403, code)


def test_sandbox_application(client: TestClient, runtime: Runtime, app_key: str) -> None:
    key = sandbox_key(runtime)
    odd = {"country_code": "1", "phone_number": "111-111-1111"}
    assert_error(start(client, app_key, **odd), 400, "60033")  # a real application refuses it
    extras = {"locale": "pl", "custom_message": "This is a custom message", "code_length": "6"}
    started = start(client, key, **odd, **extras, custom_code="12345")
    assert started.status_code == 200, started.text
    assert started.json()["carrier"] == "Google Voice"
    [job] = queued(runtime, "sms")
    assert (job["sandbox"], job["code"]) == (True, "0000")
    assert_error(check(client, key, "1234", **odd), 401, "60022", INCORRECT)
    assert check(client, key, "0000", **odd).status_code == 200
    status = client.get(STATUS, params=odd, headers=headers(key)).json()
    assert status["status"] == "verified"
    # 0000 is correct even with nothing pending; wrong codes never lock
    for _ in range(6):
        assert_error(check(client, key, "9999"), 401, "60022")
    assert check(client, key, "0000").status_code == 200


def test_messages_are_counted_and_events_recorded(
    client: TestClient, runtime: Runtime, app_key: str, app_id: int
) -> None:
    start(client, app_key)
    start(client, app_key, via="call", phone_number="201-555-0134")
    code = queued(runtime, "sms")[-1]["code"]
    check(client, app_key, "0000" if code != "0000" else "1111")
    check(client, app_key, code)
    check(client, app_key, code)
    stats.flush(runtime)
    month = runtime.run(lambda tx: stats.monthly(tx, app_id)).months[-1]
    assert (month.sms, month.calls) == (1, 1)

    def events(tx: Any) -> list[tuple[str, str | None]]:
        rows = tx.conn.execute(
            select(audit_log.c.event, audit_log.c.detail).order_by(audit_log.c.id)
        )
        return [(r.event, r.detail) for r in rows if r.event.startswith("phone_verification")]

    recorded = runtime.run(events, write=False)
    assert [e for e, _ in recorded] == [
        "phone_verification_started",
        "phone_verification_started",
        "phone_verification_code_is_invalid",
        "phone_verification_code_is_valid",
        "phone_verification_not_found",
    ]
    assert all(code not in (d or "") for _, d in recorded)


def test_only_a_digest_is_stored(client: TestClient, runtime: Runtime, app_key: str) -> None:
    start(client, app_key, code_length=10)
    code = queued(runtime, "sms")[-1]["code"]
    rows = runtime.run(lambda tx: tx.conn.execute(select(phone_verifications)).all(), write=False)
    [row] = rows
    assert len(row.digest) == 32
    assert code.encode() not in bytes(row.digest)
    assert all(code not in str(value) for value in row)


def test_no_code_reaches_the_logs(
    client: TestClient, runtime: Runtime, app_key: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    start(client, app_key, code_length=10)
    code = queued(runtime, "sms")[-1]["code"]
    check(client, app_key, str((int(code) + 1) % 10**10).zfill(10))
    check(client, app_key, code)
    client.get(STATUS, params=NUMBER, headers=headers(app_key))
    # the test client's own request log shows its URL; everything the server logged must not
    server = [r for r in caplog.records if not r.name.startswith("httpx")]
    assert all(code not in r.getMessage() for r in server)

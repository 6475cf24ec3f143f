"""Phone verification, phone intelligence and application endpoints (spec §7, §8) driven by the real
client libraries against a live server: `authy` (Python 2.2.6), `authy-client` (Node 1.1.4, strict
response asserts) and `authy` (Node 1.4.0, form bodies on GET, key in the query)."""

from __future__ import annotations

import re

import pytest
from authy.api import AuthyApiClient

from tests.clients.conftest import Outbox
from tests.clients.test_authy_node import NodeLibrary, node  # noqa: F401 - the `node` fixture
from tests.support import LiveServer
from twostep.api import app as api_app
from twostep.api.routes import app as app_routes
from twostep.api.routes import phones as phone_routes
from twostep.services import apps
from twostep.services.runtime import Runtime

PHONE = "+12015550123"
CORRECT = "Verification code is correct."
INCORRECT = "Verification code is incorrect"
NOT_FOUND = "No pending verifications for +1 201-555-0123 found."
AS_OF = re.compile(r"Phone number information as of \d+-\d+-\d+ \d+:\d+:\d+ UTC")
STAT_KEYS = {
    "api_calls_count",
    "auths_count",
    "calls_count",
    "month",
    "sms_count",
    "users_count",
    "year",
}


@pytest.fixture(autouse=True)
def _phone_and_app_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the P/A routes even before the lead wires them into ``all_routes``."""
    present = {getattr(r, "path", None) for r in api_app.all_routes()}
    mine = [r for r in [*phone_routes.routes, *app_routes.routes] if r.path not in present]
    if mine:
        wired = api_app.all_routes
        monkeypatch.setattr(api_app, "all_routes", lambda: [*wired(), *mine])


@pytest.fixture
def sandbox_key(runtime: Runtime) -> str:
    return runtime.run(lambda tx: apps.create(tx, "Sandbox App 1", sandbox=True))[1]


@pytest.fixture
def authy_client(node: str, live: LiveServer, app_key: str) -> NodeLibrary:  # noqa: F811
    return NodeLibrary(node, "authy_client.js", live.url, app_key)


@pytest.fixture
def node_authy(node: str, live: LiveServer, app_key: str) -> NodeLibrary:  # noqa: F811
    return NodeLibrary(node, "node_authy.js", live.url, app_key)


def other_code(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


# -- authy (Python) ------------------------------------------------------------------------------


def test_python_phone_verification(live: LiveServer, app_key: str, outbox: Outbox) -> None:
    api = AuthyApiClient(app_key, live.url)
    started = api.phones.verification_start("201-555-0123", 1, via="sms", code_length=6)
    assert started.ok(), started.errors()
    assert started.content["message"] == "Text message sent to +1 201-555-0123."
    assert started.content["is_cellphone"] is True
    code = outbox.next_code(PHONE)
    assert len(code) == 6

    wrong = api.phones.verification_check("201-555-0123", 1, other_code(code))
    assert not wrong.ok()
    assert wrong.response.status_code == 401
    assert wrong.errors()["message"] == INCORRECT
    right = api.phones.verification_check("201-555-0123", 1, code)
    assert right.ok(), right.errors()
    assert right.content == {"message": CORRECT, "success": True}
    again = api.phones.verification_check("201-555-0123", 1, code)
    assert again.response.status_code == 404
    assert again.errors()["message"] == NOT_FOUND

    called = api.phones.verification_start("2015550123", "1", via="call", locale="es")
    assert called.content["message"] == "Llamada a +1 201-555-0123 fue iniciada."
    spoken = outbox.next_message(PHONE, "voice")
    assert spoken.code is not None
    assert api.phones.verification_check("2015550123", "1", spoken.code).ok()


def test_python_info_and_application(live: LiveServer, app_key: str) -> None:
    api = AuthyApiClient(app_key, live.url)
    info = api.phones.info("775-461-5609", 1)
    assert info.ok(), info.errors()
    assert AS_OF.fullmatch(info.content["message"])
    assert (info.content["type"], info.content["ported"]) == ("cellphone", False)
    invalid = api.phones.info("123", 1)
    assert invalid.response.status_code == 400
    assert invalid.errors()["message"] == "Phone number is invalid"

    details = api.apps.fetch()
    assert details.ok()
    assert details.content["app"]["name"] == "Test App"
    assert details.content["message"] == "Application information."
    monthly = api.stats.fetch()
    assert monthly.ok()
    assert monthly.content["count"] == 12
    assert all(set(m) == STAT_KEYS for m in monthly.content["stats"])


def test_python_against_a_sandbox_application(live: LiveServer, sandbox_key: str) -> None:
    api = AuthyApiClient(sandbox_key, live.url)
    started = api.phones.verification_start("111-111-1111", "1", via="sms")
    assert started.ok(), started.errors()
    assert not api.phones.verification_check("111-111-1111", "1", "1234").ok()
    assert api.phones.verification_check("111-111-1111", "1", "0000").ok()
    assert api.phones.info("7754615609", "1").content["provider"] == "Google Voice"
    assert api.apps.fetch().content["app"]["name"] == "Sandbox App 1"


# -- authy-client (seegno) -------------------------------------------------------------------------


def test_authy_client_phone_verification(authy_client: NodeLibrary, outbox: Outbox) -> None:
    number = {"countryCode": "US", "phone": "201-555-0123"}
    started = authy_client.ok("startPhoneVerification", {**number, "via": "sms"})
    assert started["message"] == "Text message sent to +1 201-555-0123."
    assert started["carrier"] is None
    code = outbox.next_code(PHONE)
    assert len(code) == 4

    wrong = authy_client.error("verifyPhone", {**number, "token": other_code(code)})
    assert (wrong["name"], wrong["code"], wrong["message"]) == ("HttpError", 401, INCORRECT)
    assert wrong["body"]["error_code"] == "60022"
    verified = authy_client.ok("verifyPhone", {**number, "token": code})
    assert verified == {"message": CORRECT, "success": True}
    gone = authy_client.error("verifyPhone", {**number, "token": code})
    assert (gone["code"], gone["message"]) == (404, NOT_FOUND)

    called = authy_client.ok(
        "startPhoneVerification", {"countryCode": "1", "phone": "2015550123", "via": "call"},
        {"locale": "es"},
    )  # fmt: skip
    assert called["message"] == "Llamada a +1 201-555-0123 fue iniciada."
    assert authy_client.ok("verifyPhone", {**number, "token": outbox.next_code(PHONE, "voice")})


def test_authy_client_info_and_application(authy_client: NodeLibrary) -> None:
    info = authy_client.ok("getPhoneInformation", {"countryCode": "US", "phone": "7754615609"})
    assert AS_OF.fullmatch(info["message"])
    assert (info["type"], info["provider"], info["ported"]) == ("cellphone", "", False)
    with_ip = authy_client.ok(
        "getPhoneInformation",
        {"countryCode": "DE", "phone": "01512 3456789"},
        {"ip": "203.0.113.9"},
    )
    assert (with_ip["type"], with_ip["provider"]) == ("cellphone", "T-Mobile")

    details = authy_client.ok("getApplicationDetails", {})
    assert details["message"] == "Application information."
    assert details["app"]["name"] == "Test App"
    assert details["app"]["sms_enabled"] is True
    monthly = authy_client.ok("getApplicationStatistics", {"ip": "203.0.113.9"})
    assert monthly["message"] == "Monthly statistics."
    assert (monthly["count"], monthly["total_users"]) == (12, 0)
    assert all(set(m) == STAT_KEYS for m in monthly["stats"])


# -- authy (node, evilpacket) ----------------------------------------------------------------------


def test_node_authy_phone_verification(node_authy: NodeLibrary, outbox: Outbox) -> None:
    number = {"phone": "201-555-0123", "countryCode": "1"}
    started = node_authy.ok("phoneVerificationStart", number)  # via defaults to sms
    assert started["message"] == "Text message sent to +1 201-555-0123."
    code = outbox.next_code(PHONE)
    assert node_authy.ok("phoneVerificationStatus", number)["status"] == "pending"

    wrong = node_authy.error("phoneVerificationCheck", {**number, "code": other_code(code)})
    assert wrong["message"] == INCORRECT
    assert wrong["body"]["error_code"] == "60022"
    assert node_authy.ok("phoneVerificationCheck", {**number, "code": code})["message"] == CORRECT
    assert node_authy.ok("phoneVerificationStatus", number)["status"] == "verified"
    again = node_authy.error("phoneVerificationCheck", {**number, "code": code})
    assert again["message"] == NOT_FOUND

    called = node_authy.ok("phoneVerificationStart", {**number, "params": "call"})
    assert called["message"] == "Call to +1 201-555-0123 initiated."
    outbox.next_code(PHONE, "voice")

    info = node_authy.ok("phoneInfo", {"phone": "7754615609", "countryCode": "1"})
    assert AS_OF.fullmatch(info["message"])
    missing = node_authy.error("phoneInfo", {"phone": "7754615609", "countryCode": ""})
    assert missing["message"] == "Invalid parameter: country_code - Parameter is required"


def test_node_authy_old_sandbox_suite(node: str, live: LiveServer, sandbox_key: str) -> None:  # noqa: F811
    """The phone tests of node-authy's own suite, written against the old sandbox, unchanged."""
    sandbox = NodeLibrary(node, "node_authy.js", live.url, sandbox_key)
    number = {"phone": "111-111-1111", "countryCode": "1"}
    assert sandbox.ok("phoneVerificationStart", number)["success"] is True
    assert sandbox.ok("phoneVerificationStart", {**number, "params": "sms"})["success"] is True
    params = {
        "via": "sms",
        "locale": "pl",
        "custom_message": "This is a custom message",
        "code_length": "6",
        "custom_code": "12345",
    }
    assert sandbox.ok("phoneVerificationStart", {**number, "params": params})["success"] is True
    locale_only = {**number, "params": {"locale": "pl"}}
    assert sandbox.ok("phoneVerificationStart", locale_only)["message"].startswith("Wysłano SMS")
    assert sandbox.ok("phoneVerificationCheck", {**number, "code": "0000"})["success"] is True
    assert sandbox.ok("phoneVerificationStatus", number)["status"] == "verified"
    info = sandbox.ok("phoneInfo", {"phone": "7754615609", "countryCode": "1"})
    assert (info["type"], info["provider"], info["ported"]) == ("voip", "Google Voice", False)

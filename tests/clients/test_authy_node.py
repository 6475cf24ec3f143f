"""The real Node client libraries against a live TwoStep server, over real sockets: `authy-client`
1.1.4 (seegno/authy-client: strict response asserts) and `authy` 1.4.0 (evilpacket/node-authy: API
key in the query, form bodies on every request). Each call runs one script under
tests/clients/node/ that prints the library's answer as one JSON line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.clients.conftest import Outbox
from tests.support import LiveServer

NODE_DIR = Path(__file__).parent / "node"
PHONE = "+12015550123"  # 201-555-0123, country code 1
MASK = "+1-XXX-XXX-XX23"
TOKEN_INVALID = "Token is invalid"
TOKEN_REUSED = "Token is invalid. Token was used recently."


@pytest.fixture(scope="session")
def node() -> str:
    """The node executable; a missing toolchain fails the run instead of skipping it."""
    exe = shutil.which("node")
    if exe is None:
        pytest.fail("`node` is not on PATH: the Node client-library tests need Node.js (>= 18)")
    for package in ("authy", "authy-client"):
        if not (NODE_DIR / "node_modules" / package / "package.json").is_file():
            pytest.fail(
                f"{NODE_DIR / 'node_modules' / package} is missing: run `make pytest` "
                f"(or `cd {NODE_DIR} && npm ci`) before the test suite"
            )
    return exe


class NodeLibrary:
    """One of the Node libraries, configured with a host and an API key; each call is a process."""

    def __init__(self, exe: str, script: str, host: str, key: str) -> None:
        self.exe, self.script, self.host, self.key = exe, script, host, key

    def __call__(
        self, op: str, args: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        command = {"host": self.host, "key": self.key, "op": op, "args": args}
        if options is not None:
            command["options"] = options
        env = {k: v for k, v in os.environ.items() if k != "DEBUG"}  # keep library logs off stdout
        proc = subprocess.run(
            [self.exe, self.script],
            input=json.dumps(command),
            cwd=NODE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            pytest.fail(
                f"harness {self.script} {op} exited {proc.returncode}\n"
                f"stdout: {proc.stdout}\nstderr: {proc.stderr}"
            )
        answer: dict[str, Any] = json.loads(lines[-1])
        return answer

    def ok(
        self, op: str, args: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        answer = self(op, args, options)
        assert answer["ok"], f"{self.script} {op} rejected the response: {answer['error']}"
        result: dict[str, Any] = answer["result"]
        return result

    def error(
        self, op: str, args: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        answer = self(op, args, options)
        assert not answer["ok"], f"{self.script} {op} unexpectedly succeeded: {answer['result']}"
        error: dict[str, Any] = answer["error"]
        return error


@pytest.fixture
def authy_client(node: str, live: LiveServer, app_key: str) -> NodeLibrary:
    return NodeLibrary(node, "authy_client.js", live.url, app_key)


@pytest.fixture
def node_authy(node: str, live: LiveServer, app_key: str) -> NodeLibrary:
    return NodeLibrary(node, "node_authy.js", live.url, app_key)


def other_code(code: str) -> str:
    """A well-formed code of the same length that is not ``code``."""
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))


def assert_status(status: dict[str, Any], authy_id: int, *, confirmed: bool) -> None:
    assert status["authy_id"] == authy_id
    assert status["confirmed"] is confirmed
    assert status["registered"] is False
    assert status["country_code"] == 1
    assert status["phone_number"] == "XXX-XXX-0123"
    assert status["devices"] == []
    assert status["has_hard_token"] is False


# -- authy-client (seegno) ----------------------------------------------------------------------


def client_register(authy_client: NodeLibrary) -> int:
    user = {"email": "ann@example.com", "phone": "201-555-0123", "countryCode": "US"}
    created = authy_client.ok("registerUser", user)
    assert created["message"] == "User created successfully."
    authy_id: int = created["user"]["id"]
    assert isinstance(authy_id, int)
    return authy_id


def test_authy_client_user_lifecycle(authy_client: NodeLibrary, outbox: Outbox) -> None:
    authy_id = client_register(authy_client)
    # this client never sends send_install_link_via_sms: the server's default (true) applies
    assert "/authenticator" in outbox.next_message(PHONE, code=False).body
    again = {"email": "ann+2@example.com", "phone": "+1 201 555 0123", "countryCode": "1"}
    assert authy_client.ok("registerUser", again)["user"]["id"] == authy_id

    status = authy_client.ok("getUserStatus", {"authyId": authy_id})
    assert status["message"] == "User status."
    assert_status(status["status"], authy_id, confirmed=False)
    # with an IP this client sends a JSON body on the GET
    with_ip = authy_client.ok("getUserStatus", {"authyId": authy_id}, {"ip": "203.0.113.9"})
    assert with_ip["status"]["authy_id"] == authy_id

    removed = authy_client.ok("deleteUser", {"authyId": authy_id}, {"ip": "203.0.113.9"})
    assert removed == {"message": "User was added to remove.", "success": True}
    after = authy_client.ok("getUserStatus", {"authyId": authy_id})
    assert after["status"]["account_disabled"] is True

    missing = authy_client.error("deleteUser", {"authyId": 987654})
    assert (missing["name"], missing["code"]) == ("HttpError", 404)
    assert missing["message"] == "User not found."
    assert missing["body"]["error_code"] == "60026"


def test_authy_client_sms_verify_and_replay(authy_client: NodeLibrary, outbox: Outbox) -> None:
    authy_id = client_register(authy_client)

    sms = authy_client.ok("requestSms", {"authyId": authy_id})
    assert sms == {"success": True, "message": "SMS token was sent", "cellphone": MASK}
    code = outbox.next_code(PHONE)

    wrong = authy_client.error("verifyToken", {"authyId": authy_id, "token": other_code(code)})
    assert (wrong["name"], wrong["code"], wrong["message"]) == ("HttpError", 401, TOKEN_INVALID)
    assert wrong["body"]["error_code"] == "60020"

    verified = authy_client.ok("verifyToken", {"authyId": authy_id, "token": code})
    assert verified["message"] == "Token is valid."
    assert verified["token"] == "is valid"
    assert verified["device"]["os_type"] == "sms"
    status = authy_client.ok("getUserStatus", {"authyId": authy_id})["status"]
    assert_status(status, authy_id, confirmed=True)

    replay = authy_client.error("verifyToken", {"authyId": authy_id, "token": code})
    assert (replay["name"], replay["code"], replay["message"]) == ("HttpError", 401, TOKEN_REUSED)
    assert replay["body"]["error_code"] == "60019"


def test_authy_client_call_and_forced_sms(authy_client: NodeLibrary, outbox: Outbox) -> None:
    authy_id = client_register(authy_client)

    call = authy_client.ok("requestCall", {"authyId": authy_id})
    assert call == {"success": True, "message": "Call started...", "cellphone": MASK}
    call_code = outbox.next_code(PHONE, "voice")
    forced = authy_client.ok(
        "requestSms",
        {"authyId": authy_id},
        {"force": True, "action": "login", "message": "Sign in"},
    )
    assert forced["cellphone"] == MASK
    assert "ignored" not in forced
    assert "Sign in" in outbox.next_message(PHONE).body

    verified = authy_client.ok("verifyToken", {"authyId": authy_id, "token": call_code})
    assert verified["token"] == "is valid"
    forced_verify = {"authyId": authy_id, "token": other_code(call_code)}
    rejected = authy_client.error("verifyToken", forced_verify, {"force": True})
    assert rejected["message"] == TOKEN_INVALID


def test_authy_client_unknown_user_and_bad_key(authy_client: NodeLibrary) -> None:
    unknown = authy_client.error("verifyToken", {"authyId": 987654, "token": "1234567"})
    assert (unknown["name"], unknown["code"]) == ("HttpError", 404)
    assert unknown["message"] == "User doesn't exist"
    sms = authy_client.error("requestSms", {"authyId": 987654})
    assert (sms["code"], sms["message"]) == (404, "User not found.")

    bad_key = NodeLibrary(authy_client.exe, authy_client.script, authy_client.host, "not-the-key")
    refused = bad_key.error("getUserStatus", {"authyId": 1})
    assert (refused["code"], refused["message"]) == (401, "Invalid API key")


# -- authy (evilpacket/node-authy) --------------------------------------------------------------


def node_register(node_authy: NodeLibrary, **extra: object) -> int:
    user = {"email": "ann@example.com", "cellphone": "201-555-0123", "countryCode": "1", **extra}
    created = node_authy.ok("registerUser", user)
    assert created["message"] == "User created successfully."
    authy_id: int = created["user"]["id"]
    assert isinstance(authy_id, int)
    return authy_id


def test_node_authy_user_lifecycle(node_authy: NodeLibrary, outbox: Outbox) -> None:
    authy_id = node_register(node_authy)  # send_install_link_via_sms=true in the query string
    assert "/authenticator" in outbox.next_message(PHONE, code=False).body
    assert node_register(node_authy, sendInstallLink=False) == authy_id

    status = node_authy.ok("getUserStatus", {"id": authy_id})
    assert status["message"] == "User status."
    assert status["success"] is True
    assert_status(status["status"], authy_id, confirmed=False)

    deleted = node_authy.ok("deleteUser", {"id": authy_id})  # POST /users/delete/{id}
    assert deleted == {"message": "User removed from application", "success": True}
    assert node_authy.ok("getUserStatus", {"id": authy_id})["status"]["account_disabled"] is True

    # the library hands the error body itself to the callback
    for missing in (987654, "tony"):
        err = node_authy.error("getUserStatus", {"id": missing})
        assert err["message"] == "User not found."
        assert err["body"]["success"] is False
        assert err["body"]["error_code"] == "60026"
    assert node_authy.error("deleteUser", {"id": 987654})["message"] == "User not found."


def test_node_authy_sms_verify_and_replay(node_authy: NodeLibrary, outbox: Outbox) -> None:
    authy_id = node_register(node_authy, sendInstallLink=False)

    sms = node_authy.ok("requestSms", {"id": authy_id})
    assert sms == {"success": True, "message": "SMS token was sent", "cellphone": MASK}
    code = outbox.next_code(PHONE)

    wrong = node_authy.error("verifyToken", {"id": authy_id, "token": other_code(code)})
    assert wrong["message"] == TOKEN_INVALID
    assert wrong["body"]["token"] == "is invalid"
    assert wrong["body"]["error_code"] == "60020"

    verified = node_authy.ok("verifyToken", {"id": authy_id, "token": code})
    assert verified["token"] == "is valid"
    assert verified["message"] == "Token is valid."
    assert node_authy.ok("getUserStatus", {"id": authy_id})["status"]["confirmed"] is True

    replay = node_authy.error("verifyToken", {"id": authy_id, "token": code})
    assert replay["message"] == TOKEN_REUSED
    assert replay["body"]["error_code"] == "60019"


def test_node_authy_forced_call_and_sms(node_authy: NodeLibrary, outbox: Outbox) -> None:
    authy_id = node_register(node_authy, sendInstallLink=False)

    call = node_authy.ok("requestCall", {"id": authy_id, "force": True})
    assert call == {"success": True, "message": "Call started...", "cellphone": MASK}
    call_code = outbox.next_code(PHONE, "voice")
    sms = node_authy.ok("requestSms", {"id": authy_id, "force": "true"})
    assert sms["cellphone"] == MASK
    assert "ignored" not in sms
    sms_code = outbox.next_code(PHONE)

    verified = node_authy.ok("verifyToken", {"id": authy_id, "token": sms_code, "force": True})
    assert verified["token"] == "is valid"
    # accepting one code retires the user's other outstanding codes
    stale = node_authy.error("verifyToken", {"id": authy_id, "token": call_code, "force": True})
    assert stale["message"].startswith(TOKEN_INVALID)


def test_node_authy_unknown_user_and_bad_key(node_authy: NodeLibrary) -> None:
    unknown = node_authy.error("verifyToken", {"id": 987654, "token": "1234567"})
    assert unknown["message"] == "User doesn't exist"
    assert unknown["body"]["success"] is False
    assert unknown["body"]["error_code"] == "60026"
    assert node_authy.error("requestCall", {"id": 987654})["message"] == "User not found."

    bad_key = NodeLibrary(node_authy.exe, node_authy.script, node_authy.host, "not-the-key")
    assert bad_key.error("getUserStatus", {"id": 1})["message"] == "Invalid API key"

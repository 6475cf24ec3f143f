"""OneTouch O1/O2 (spec §5) through HTTP: encodings, limits, status fields, the state machine,
expiry, number matching, pending limits and long polls."""

from __future__ import annotations

import re
import threading
import time
import uuid as uuidlib
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.factories import queued
from tests.onetouch_support import KeyedDevice, answer, keyed_device
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.errors import ApprovalRequestNotPending, InvalidParameter
from twostep.services import apps, maintenance
from twostep.services.runtime import Runtime
from twostep.store import approvals as approval_store

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def user(client: TestClient, app_key: str) -> int:
    return register(client, app_key)


@pytest.fixture
def device(runtime: Runtime, app_id: int, user: int) -> KeyedDevice:
    return keyed_device(runtime, user, app_id, push="ntfy:https://ntfy.example/t1")


def create(client: TestClient, key: str, user: int, **body: object) -> str:
    response = client.post(
        f"/onetouch/json/users/{user}/approval_requests",
        json={"message": "Log in?", **body},
        headers=headers(key),
    )
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    uuid: str = response.json()["approval_request"]["uuid"]
    return uuid


def status(client: TestClient, key: str, uuid: str, **params: object) -> dict[str, object]:
    response = client.get(
        f"/onetouch/json/approval_requests/{uuid}", params=params, headers=headers(key)
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()["approval_request"]
    return body


@pytest.mark.usefixtures("device")
def test_create_with_json_as_the_python_client_sends_it(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    response = client.post(
        f"/onetouch/json/users/{user}/approval_requests",
        json={
            "message": "Log in?",
            "seconds_to_expire": None,
            "details": {},
            "hidden_details": {},
            "logos": [],
        },
        headers=headers(app_key),
    )
    assert response.status_code == 200
    uuid = response.json()["approval_request"]["uuid"]
    assert response.content == b'{"approval_request":{"uuid":"%s"},"success":true}' % uuid.encode()
    [push] = queued(runtime, "push")
    assert push["address"] == "ntfy:https://ntfy.example/t1"
    assert push["data"] == {"uuid": uuid}
    assert "Log in?" not in str(push)  # a push carries no content


@pytest.mark.usefixtures("device")
def test_request_uuids_are_random_and_name_no_host(
    client: TestClient, app_key: str, user: int
) -> None:
    made = [uuidlib.UUID(create(client, app_key, user)) for _ in range(3)]
    assert [u.version for u in made] == [4, 4, 4]
    assert len({u.hex for u in made}) == 3


@pytest.mark.usefixtures("device")
def test_create_with_rack_form_encodings(client: TestClient, app_key: str, user: int) -> None:
    form = urlencode(
        [
            ("message", "Wire $100?"),
            ("details[Account Number]", "981266321"),
            ("hidden_details[ip]", "10.0.0.1"),
            ("logos[][res]", "default"),
            ("logos[][url]", "https://example.com/a.png"),
            ("logos[][res]", "low"),
            ("logos[][url]", "https://example.com/b.png"),
            ("seconds_to_expire", "120"),
        ]
    )
    response = client.post(
        f"/onetouch/json/users/{user}/approval_requests",
        content=form,
        headers={**headers(app_key), **FORM},
    )
    assert response.status_code == 200, response.text
    indexed = urlencode(
        [
            ("message", "Hi"),
            ("logos[0][res]", "default"),
            ("logos[0][url]", "https://example.com/a.png"),
        ]
    )
    response = client.post(
        f"/onetouch/json/users/{user}/approval_requests?{indexed}", headers=headers(app_key)
    )
    assert response.status_code == 200, response.text


@pytest.mark.usefixtures("device")
@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({}, "message"),
        ({"message": ""}, "message"),
        ({"message": "x" * 201}, "message"),
        ({"message": "m", "details": {"a": {"nested": "no"}}}, "details"),
        ({"message": "m", "details": {"k" * 201: "v"}}, "details"),
        ({"message": "m", "hidden_details": "flat"}, "hidden_details"),
        ({"message": "m", "logos": [{"res": "huge", "url": "https://x/y.png"}]}, "logos"),
        ({"message": "m", "logos": [{"res": "low", "res2": "low"}]}, "logos"),
        ({"message": "m", "logos": [{"res": "low", "url": "javascript:alert(1)"}]}, "logos"),
        ({"message": "m", "seconds_to_expire": -1}, "seconds_to_expire"),
        ({"message": "m", "seconds_to_expire": "soon"}, "seconds_to_expire"),
    ],
)
def test_invalid_requests_name_the_parameter(
    client: TestClient, app_key: str, user: int, body: dict[str, object], name: str
) -> None:
    response = client.post(
        f"/onetouch/json/users/{user}/approval_requests", json=body, headers=headers(app_key)
    )
    assert assert_error(response, 400, "60004")["message"].startswith(f"Invalid parameter: {name}")


def test_users_without_a_device_and_unknown_users(
    client: TestClient, app_key: str, user: int
) -> None:
    response = client.post(
        f"/onetouch/json/users/{user}/approval_requests",
        json={"message": "m"},
        headers=headers(app_key),
    )
    assert_error(response, 400, "60050")
    response = client.post(
        "/onetouch/json/users/9999/approval_requests",
        json={"message": "m"},
        headers=headers(app_key),
    )
    assert_error(response, 404, "60026", "User not found.")


def test_onetouch_disabled_and_sandbox(client: TestClient, runtime: Runtime) -> None:
    app, key = new_app(runtime, "NoPush", onetouch_enabled="false")
    person = register(client, key)
    keyed_device(runtime, person, app.id)
    response = client.post(
        f"/onetouch/json/users/{person}/approval_requests",
        json={"message": "m"},
        headers=headers(key),
    )
    assert_error(response, 403, "60064")
    _sandbox, sandbox_key = runtime.run(lambda tx: apps.create(tx, "Sandbox App 1", sandbox=True))
    person = register(client, sandbox_key, "111-111-1111")
    response = client.post(
        f"/onetouch/json/users/{person}/approval_requests",
        json={"message": "m"},
        headers=headers(sandbox_key),
    )
    assert_error(response, 403, "60064")


@pytest.mark.usefixtures("device")
def test_status_fields_and_types(client: TestClient, app_key: str, user: int) -> None:
    uuid = create(client, app_key, user, seconds_to_expire=600)
    body = status(client, app_key, uuid)
    assert list(body) == [
        "_app_name",
        "_app_serial_id",
        "_authy_id",
        "_id",
        "_user_email",
        "app_id",
        "created_at",
        "notified",
        "processed_at",
        "seconds_to_expire",
        "status",
        "updated_at",
        "user_id",
        "uuid",
    ]
    assert body["_app_name"] == "Test App"
    assert isinstance(body["_app_serial_id"], int)
    assert body["_authy_id"] == user
    assert body["_user_email"] == "ann@example.com"
    for key in ("_id", "app_id", "user_id"):
        assert re.fullmatch(r"[0-9a-f]{24}", str(body[key]))
    assert ISO.match(str(body["created_at"]))
    assert ISO.match(str(body["updated_at"]))
    assert (body["processed_at"], body["status"], body["notified"]) == (None, "pending", False)
    assert body["seconds_to_expire"] == 600
    assert body["uuid"] == uuid


@pytest.mark.usefixtures("device")
def test_unknown_and_foreign_uuids_are_60049(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    uuid = create(client, app_key, user)
    other_key = new_app(runtime, "Other")[1]
    for key, ident in ((app_key, "00000000-0000-0000-0000-000000000000"), (other_key, uuid)):
        response = client.get(f"/onetouch/json/approval_requests/{ident}", headers=headers(key))
        assert response.status_code == 404
        assert response.json() == {
            "message": f"Approval request not found: {ident}",
            "success": False,
            "errors": {},
            "error_code": "60049",
        }


def test_approve_then_terminal(
    client: TestClient, runtime: Runtime, app_key: str, user: int, device: KeyedDevice
) -> None:
    uuid = create(client, app_key, user)
    answer(runtime, device, uuid, "approved")
    body = status(client, app_key, uuid)
    assert body["status"] == "approved"
    assert ISO.match(str(body["processed_at"]))
    with pytest.raises(ApprovalRequestNotPending):
        answer(runtime, device, uuid, "denied")
    assert status(client, app_key, uuid)["status"] == "approved"


def test_deny_and_bad_statement_signatures(
    client: TestClient, runtime: Runtime, app_key: str, user: int, device: KeyedDevice
) -> None:
    uuid = create(client, app_key, user)
    with pytest.raises(InvalidParameter, match="signature"):
        answer(runtime, device, uuid, "approved", tamper=True)
    with pytest.raises(InvalidParameter, match="signed_at"):
        answer(runtime, device, uuid, "approved", signed_at=int(runtime.clock.time()) - 3600)
    assert status(client, app_key, uuid)["status"] == "pending"
    answer(runtime, device, uuid, "denied")
    assert status(client, app_key, uuid)["status"] == "denied"


@pytest.mark.usefixtures("device")
def test_expiry_even_when_nobody_polls(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    app_key: str,
    user: int,
    device: KeyedDevice,
) -> None:
    uuid = create(client, app_key, user, seconds_to_expire=60)
    never = create(client, app_key, user, seconds_to_expire=0)
    clock.advance(61)
    assert maintenance.frequent(runtime)["approvals_expired"] == 1
    body = status(client, app_key, uuid)
    assert body["status"] == "expired"
    assert body["processed_at"] is not None
    with pytest.raises(ApprovalRequestNotPending):
        answer(runtime, device, uuid, "approved")
    clock.advance(10 * 365 * 86400)
    assert status(client, app_key, never)["status"] == "pending"
    assert queued(runtime, "callback") == []  # expiry sends no callback


def test_expired_reads_as_expired_before_the_worker_runs(
    client: TestClient, clock: FrozenClock, app_key: str, user: int, device: KeyedDevice
) -> None:
    del device
    uuid = create(client, app_key, user, seconds_to_expire=30)
    clock.advance(31)
    assert status(client, app_key, uuid)["status"] == "expired"


def test_number_matching(client: TestClient, runtime: Runtime) -> None:
    app, key = new_app(runtime, "Matcher", number_matching="true")
    person = register(client, key)
    device = keyed_device(runtime, person, app.id)
    response = client.post(
        f"/onetouch/json/users/{person}/approval_requests",
        json={"message": "m"},
        headers=headers(key),
    )
    number = response.json()["approval_request"]["number"]
    assert re.fullmatch(r"[1-9]\d", number)
    uuid = response.json()["approval_request"]["uuid"]
    wrong = next(n for n in ("10", "11", "12") if n != number)
    answer(runtime, device, uuid, "approved", number=wrong)
    assert status(client, key, uuid)["status"] == "denied"
    second = create(client, key, person)
    right = runtime.run(lambda tx: approval_store.by_uuid(tx.conn, second).number_match)
    answer(runtime, device, second, "approved", number=right)
    assert status(client, key, second)["status"] == "approved"


def test_pending_limit(client: TestClient, runtime: Runtime) -> None:
    app, key = new_app(runtime, "Limited", max_pending_approvals="2")
    person = register(client, key)
    keyed_device(runtime, person, app.id)
    create(client, key, person)
    create(client, key, person)
    response = client.post(
        f"/onetouch/json/users/{person}/approval_requests",
        json={"message": "m"},
        headers=headers(key),
    )
    assert_error(response, 429, "60003")


def test_long_poll_returns_when_the_status_changes(
    client: TestClient, runtime: Runtime, app_key: str, user: int, device: KeyedDevice
) -> None:
    uuid = create(client, app_key, user)
    timer = threading.Timer(0.5, lambda: answer(runtime, device, uuid, "approved"))
    started = time.monotonic()
    timer.start()
    body = status(client, app_key, uuid, wait=20)
    assert body["status"] == "approved"
    assert time.monotonic() - started < 5
    timer.join()


@pytest.mark.usefixtures("device")
def test_long_poll_limits(client: TestClient, app_key: str, user: int) -> None:
    uuid = create(client, app_key, user)
    started = time.monotonic()
    assert status(client, app_key, uuid, wait=1)["status"] == "pending"
    assert 0.9 <= time.monotonic() - started < 5
    too_long = client.get(
        f"/onetouch/json/approval_requests/{uuid}", params={"wait": 61}, headers=headers(app_key)
    )
    assert_error(too_long, 400, "60004")


def test_callback_is_queued_with_the_answer(
    client: TestClient,
    runtime: Runtime,
    test_app: tuple[apps.App, str],
    user: int,
    device: KeyedDevice,
) -> None:
    app, key = test_app
    uuid = create(client, key, user)
    answer(runtime, device, uuid, "approved")
    assert queued(runtime, "callback") == []  # no URL configured
    runtime.run(
        lambda tx: apps.update_settings(
            tx, app, {"onetouch_callback_url": "https://customer.example/cb"}
        )
    )
    second = create(client, key, user, details={"Username": "jdoe"})
    answer(runtime, device, second, "denied")
    [job] = queued(runtime, "callback")
    assert (job["url"], job["method"]) == ("https://customer.example/cb", "POST")
    params = job["params"]
    assert params["status"] == "denied"
    assert params["uuid"] == second
    assert params["authy_id"] == user
    assert params["callback_action"] == "approval_request_status"
    assert isinstance(params["device_uuid"], str)
    assert params["approval_request"]["transaction"]["details"] == {"Username": "jdoe"}


@pytest.mark.usefixtures("device")
def test_xml_status(client: TestClient, app_key: str, user: int) -> None:
    uuid = create(client, app_key, user)
    response = client.get(f"/onetouch/xml/approval_requests/{uuid}", headers=headers(app_key))
    assert b"<status>pending</status>" in response.content
    assert b'<processed-at nil="true"/>' in response.content

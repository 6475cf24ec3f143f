"""Enrolment links (docs/device-protocol.md §2.2) and removing a device from one application:
tenant isolation between the applications a person uses."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.device_flows import (
    create_request,
    enroll_by_link,
    enroll_by_phone,
    link,
    local,
    user_status,
)
from tests.api.helpers import PHONES, assert_error, headers, register
from tests.device_client import DeviceKey, registration
from tests.factories import queued
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.services import secrets
from twostep.services.runtime import Runtime
from twostep.store.schema import enrollments


@pytest.fixture
def user(client: TestClient, app_key: str) -> int:
    return register(client, app_key)


def test_link_body_qr_and_single_use(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, app_id: int, user: int
) -> None:
    body = link(client, app_key, user)
    assert list(body) == ["enrollment_url", "qr_code", "expires_at", "success"]
    assert body["expires_at"] == int(clock.time()) + 600
    url = body["enrollment_url"]
    assert url.startswith("http://127.0.0.1:8080/device/v1/links/")
    assert body["qr_code"] == f"{url}/qr.png"
    token = url.rsplit("/", 1)[1]
    lookup, secret = token.split(".")
    stored = runtime.run(lambda tx: tx.conn.execute(select(enrollments)).one(), write=False)
    assert stored.public_id == lookup
    assert secret not in repr(stored)  # only a digest of the secret part is kept

    image = client.get(local(body["qr_code"]))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "no-store"
    assert image.content == secrets.render_png(url, 300)

    key = DeviceKey()
    response = client.post(local(url), json=registration(key, os_type="ios"))
    assert response.status_code == 200, response.text
    done = response.json()
    assert done["status"] == "completed"
    assert done["device"]["os_type"] == "ios"
    assert [a["app_id"] for a in done["accounts"]] == [app_id]
    assert user_status(client, app_key, user)["devices"] == ["ios"]
    again = client.post(local(url), json=registration(DeviceKey()))
    assert_error(again, 404, "60035", "Enrollment not found")
    assert_error(client.get(local(body["qr_code"])), 404, "60035")


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # wrong secret
        lambda t: t.split(".")[0],  # no secret
        lambda t: "abc.def",
        lambda t: t + "x" * 200,
    ],
)
def test_forged_links_are_refused(
    client: TestClient, app_key: str, user: int, forge: Callable[[str], str]
) -> None:
    token = link(client, app_key, user)["enrollment_url"].rsplit("/", 1)[1]
    forged = forge(token)
    response = client.post(f"/device/v1/links/{forged}", json=registration(DeviceKey()))
    assert_error(response, 404, "60035")
    assert_error(client.get(f"/device/v1/links/{forged}/qr.png"), 404, "60035")


def test_links_expire(client: TestClient, clock: FrozenClock, app_key: str, user: int) -> None:
    url = local(link(client, app_key, user)["enrollment_url"])
    clock.advance(601)
    assert_error(client.post(url, json=registration(DeviceKey())), 404, "60035")


def test_links_need_a_user_of_the_application(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    response = client.post("/protected/json/users/999999/enrollment_link", headers=headers(app_key))
    assert_error(response, 404, "60026")
    _other, other_key = new_app(runtime, "Other App")
    response = client.post(
        f"/protected/json/users/{user}/enrollment_link", headers=headers(other_key)
    )
    assert_error(response, 404, "60026")  # another application's user is invisible
    url = local(link(client, app_key, user)["enrollment_url"])
    client.post(f"/protected/json/users/{user}/remove", headers=headers(app_key))
    assert_error(client.post(url, json=registration(DeviceKey())), 404, "60035")


def test_a_link_activates_at_once_and_serves_only_its_application(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, app_id: int, user: int
) -> None:
    enroll_by_phone(client, runtime, clock)
    linked = enroll_by_link(client, clock, app_key, user)
    other, other_key = new_app(runtime, "Other App")
    register(client, other_key)
    # the link device was vouched for by the first application only
    accounts = linked.get("/device/v1/accounts").json()["accounts"]
    assert [a["app_id"] for a in accounts] == [app_id]
    assert len(user_status(client, other_key, user)["detailed_devices"]) == 1
    # ... and the other application cannot see it, let alone remove it
    response = client.post(
        f"/protected/json/users/{user}/devices/{linked.device_id}/remove",
        headers=headers(other_key),
    )
    assert_error(response, 404, "60051")
    # a link device has no say over recoveries of the person's phone enrolments
    assert linked.get("/device/v1/enrollments").json()["enrollments"] == []
    assert other.id != app_id


def test_an_application_removes_a_device_for_itself_only(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    device = enroll_by_phone(client, runtime, clock)
    other, other_key = new_app(runtime, "Other App")
    register(client, other_key)
    path = f"/protected/json/users/{user}/devices/{device.device_id}/remove"
    response = client.post(path, headers=headers(app_key))
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    assert client.post(path, headers=headers(app_key)).status_code == 200  # harmless twice

    mine = user_status(client, app_key, user)
    assert (mine["registered"], mine["devices"], mine["detailed_devices"]) == (False, [], [])
    assert [d["device_id"] for d in mine["deleted_devices"]] == [device.device_id]
    theirs = user_status(client, other_key, user)
    assert theirs["registered"] is True
    assert [d["device_id"] for d in theirs["detailed_devices"]] == [device.device_id]

    assert [a["app_id"] for a in device.get("/device/v1/accounts").json()["accounts"]] == [other.id]
    assert_error(create_request(client, app_key, user), 400, "60050")
    assert create_request(client, other_key, user).status_code == 200
    assert len(queued(runtime, "push")) == 0  # no push address: nothing to wake


def test_removing_a_device_that_is_not_the_users(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    bob = register(client, app_key, PHONES[1], "bob@example.com")
    bobs = enroll_by_phone(client, runtime, clock, PHONES[1])
    for authy_id, device_id in ((user, bobs.device_id), (user, 999999), (user, "abc")):
        response = client.post(
            f"/protected/json/users/{authy_id}/devices/{device_id}/remove",
            headers=headers(app_key),
        )
        assert_error(response, 404, "60051", "Device not found for this user")
    response = client.post(
        f"/protected/json/users/424242/devices/{bobs.device_id}/remove", headers=headers(app_key)
    )
    assert_error(response, 404, "60026")
    assert user_status(client, app_key, bob)["registered"] is True

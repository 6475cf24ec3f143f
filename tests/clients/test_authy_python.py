"""The real `authy` Python client (v2.2.6) against a live TwoStep server."""

from __future__ import annotations

from authy.api import AuthyApiClient

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

"""Small helpers for HTTP tests: register users and read envelopes."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

PHONES = ["201-555-0123", "201-555-0134", "201-555-0145", "201-555-0156", "201-555-0167"]


def headers(key: str) -> dict[str, str]:
    return {"X-Authy-API-Key": key}


def register(
    client: TestClient,
    key: str,
    phone: str = PHONES[0],
    email: str = "ann@example.com",
    country_code: Any = 1,
) -> int:
    response = client.post(
        "/protected/json/users/new",
        json={
            "user": {"email": email, "cellphone": phone, "country_code": country_code},
            "send_install_link_via_sms": False,
        },
        headers=headers(key),
    )
    assert response.status_code == 200, response.text
    authy_id: int = response.json()["user"]["id"]
    return authy_id


def assert_error(
    response: Any, status: int, code: str, message: str | None = None
) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert body["success"] is False
    assert body["error_code"] == code
    assert isinstance(body["errors"], dict)
    assert isinstance(body["message"], str)
    if message is not None:
        assert body["message"] == message
    return body

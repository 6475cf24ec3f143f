"""Bad input always gets a 4xx Authy envelope, never a 500 or an HTML page."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register

NEW = "/protected/json/users/new"


def test_malformed_json(client: TestClient, app_key: str) -> None:
    response = client.post(
        NEW, content=b'{"user": ', headers={**headers(app_key), "content-type": "application/json"}
    )
    assert_error(response, 400, "60002", "Invalid JSON body")


def test_json_that_is_not_an_object(client: TestClient, app_key: str) -> None:
    response = client.post(
        NEW, content=b"[1,2,3]", headers={**headers(app_key), "content-type": "application/json"}
    )
    assert_error(response, 400, "60002")


def test_unsupported_content_type(client: TestClient, app_key: str) -> None:
    response = client.post(
        NEW, content=b"<user/>", headers={**headers(app_key), "content-type": "text/plain"}
    )
    assert_error(response, 415, "60002")


def test_body_size_limit(client: TestClient, app_key: str) -> None:
    huge = b'{"user":{"email":"' + b"a" * 70_000 + b'"}}'
    response = client.post(
        NEW, content=huge, headers={**headers(app_key), "content-type": "application/json"}
    )
    assert_error(response, 413, "60002")


def test_invalid_utf8_in_body_and_query(client: TestClient, app_key: str) -> None:
    body = client.post(
        NEW,
        content=b"user[email]=%FF",
        headers={**headers(app_key), "content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(body, 400, "60005", "Invalid encoding")
    raw_json = client.post(
        NEW,
        content=b'{"user":{"email":"\xff"}}',
        headers={**headers(app_key), "content-type": "application/json"},
    )
    assert_error(raw_json, 400, "60005")
    query = client.get("/protected/json/users/1/status?user_ip=%C3%28", headers=headers(app_key))
    assert_error(query, 400, "60005")


def test_absurd_nesting(client: TestClient, app_key: str) -> None:
    deep_form = "a" + "[x]" * 40 + "=1"
    response = client.post(
        NEW,
        content=deep_form.encode(),
        headers={**headers(app_key), "content-type": "application/x-www-form-urlencoded"},
    )
    assert_error(response, 400, "60002")
    deep_json = b'{"a":' * 2000 + b"1" + b"}" * 2000
    response = client.post(
        NEW, content=deep_json, headers={**headers(app_key), "content-type": "application/json"}
    )
    assert_error(response, 400, "60002")


def test_too_many_parameters(client: TestClient, app_key: str) -> None:
    query = "&".join(f"p{i}=1" for i in range(600))
    assert_error(
        client.get(f"/protected/json/users/1/status?{query}", headers=headers(app_key)),
        400,
        "60002",
    )


def test_overlong_strings(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key)
    response = client.post(
        f"/protected/json/users/{authy_id}/register_activity",
        json={"type": "banned", "user_ip": "1" * 500},
        headers=headers(app_key),
    )
    body = assert_error(response, 400, "60004")
    assert "user_ip" in body["message"]
    response = client.post(
        NEW,
        json={
            "user": {
                "email": "a" * 400 + "@example.com",
                "cellphone": "2015550123",
                "country_code": 1,
            }
        },
        headers=headers(app_key),
    )
    assert assert_error(response, 400, "60027")["email"] == "is invalid"


def test_wrongly_typed_values(client: TestClient, app_key: str) -> None:
    response = client.post(NEW, json={"user": "not a hash"}, headers=headers(app_key))
    assert_error(response, 400, "60004")
    response = client.post(
        NEW,
        json={"user": {"email": ["x"], "cellphone": {"a": 1}, "country_code": True}},
        headers=headers(app_key),
    )
    assert set(assert_error(response, 400, "60027")["errors"]) == {
        "message",
        "email",
        "cellphone",
        "country_code",
    }


def test_unknown_paths_and_methods_get_json(client: TestClient, app_key: str) -> None:
    assert_error(client.get("/nowhere"), 404, "60000")
    assert_error(client.get("/protected/json/users/new", headers=headers(app_key)), 405, "60000")
    assert_error(client.delete("/protected/json/users/1/status"), 405, "60000")
    assert_error(client.post("/protected/yaml/users/new", headers=headers(app_key)), 404, "60000")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=300),
    content_type=st.sampled_from(
        [
            "application/json",
            "application/x-www-form-urlencoded",
            "",
            "text/xml",
            "multipart/form-data",
            "application/json; charset=latin-1",
        ]
    ),
    query=st.text(max_size=60),
)
def test_fuzzed_requests_never_cause_a_server_error(
    client: TestClient, app_key: str, body: bytes, content_type: str, query: str
) -> None:
    hdrs = {**headers(app_key)}
    if content_type:
        hdrs["content-type"] = content_type
    for method, path in (("POST", NEW), ("GET", "/protected/json/users/1/status")):
        response = client.request(method, path, params={"q": query}, content=body, headers=hdrs)
        assert response.status_code < 500, response.text
        assert response.json()["success"] in (True, False)


@pytest.mark.parametrize("path", ["/protected/json/users/new"])
def test_json_null_values_mean_not_given(client: TestClient, app_key: str, path: str) -> None:
    response = client.post(
        path,
        json={
            "user": {"email": "n@example.com", "cellphone": "2015550123", "country_code": 1},
            "send_install_link_via_sms": None,
        },
        headers=headers(app_key),
    )
    assert response.status_code == 200

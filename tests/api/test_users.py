"""Users (spec §3) through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import PHONES, assert_error, headers, register
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.services.maintenance import run as run_maintenance
from twostep.services.runtime import Runtime

FORM = {"content-type": "application/x-www-form-urlencoded"}


def test_register_with_a_json_body_returns_the_exact_body(client: TestClient, app_key: str) -> None:
    response = client.post(
        "/protected/json/users/new",
        json={
            "user": {"email": "ann@example.com", "cellphone": "201-555-0123", "country_code": 1},
            "send_install_link_via_sms": False,
        },
        headers=headers(app_key),
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    authy_id = response.json()["user"]["id"]
    assert isinstance(authy_id, int)
    assert response.content == (
        b'{"message":"User created successfully.","user":{"id":%d},"success":true}' % authy_id
    )


def test_register_with_a_form_body_and_the_key_in_the_query(
    client: TestClient, app_key: str
) -> None:
    # the Node `authy` client: key and flag in the query, the user hash as a form body
    body = urlencode(
        {
            "user[email]": "bo@example.com",
            "user[cellphone]": "2015550134",
            "user[country_code]": "1",
        }
    )
    response = client.post(
        f"/protected/json/users/new?api_key={app_key}&send_install_link_via_sms=false",
        content=body,
        headers=FORM,
    )
    assert response.status_code == 200, response.text


def test_register_with_everything_in_the_query_string(client: TestClient, app_key: str) -> None:
    # the PHP client sends POST parameters as a query string, flag inside the user hash
    query = urlencode(
        {
            "user[email]": "cy@example.com",
            "user[cellphone]": "201.555.0145",
            "user[country_code]": "1",
            "user[send_install_link_via_sms]": "0",
        }
    )
    response = client.post(f"/protected/json/users/new?{query}", headers=headers(app_key))
    assert response.status_code == 200, response.text


def test_the_key_may_arrive_in_a_form_body(client: TestClient, app_key: str) -> None:
    body = urlencode(
        {
            "api_key": app_key,
            "user[email]": "dee@example.com",
            "user[cellphone]": "2015550156",
            "user[country_code]": "1",
        }
    )
    response = client.post("/protected/json/users/new", content=body, headers=FORM)
    assert response.status_code == 200, response.text


def test_same_phone_gets_the_same_id_and_the_new_email(client: TestClient, app_key: str) -> None:
    first = register(client, app_key, PHONES[0], "one@example.com")
    second = register(client, app_key, "(201) 555 0123", "two@example.com")
    assert first == second
    status = client.get(f"/protected/json/users/{first}/status", headers=headers(app_key))
    assert status.json()["status"]["email"] == "two@example.com"


def test_authy_ids_are_shared_across_applications_but_users_are_not(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    other_key = new_app(runtime, "Other")[1]
    mine = register(client, app_key, PHONES[1])
    assert register(client, other_key, PHONES[1]) == mine
    other_only = register(client, other_key, PHONES[2])
    response = client.get(f"/protected/json/users/{other_only}/status", headers=headers(app_key))
    assert_error(response, 404, "60026", "User not found.")


@pytest.mark.parametrize(
    ("user", "fields"),
    [
        ({"email": "nope", "cellphone": "2015550123", "country_code": 1}, {"email"}),
        ({"email": "a@example.com", "cellphone": "12", "country_code": 1}, {"cellphone"}),
        (
            {"email": "a@example.com", "cellphone": "2015550123", "country_code": 999},
            {"country_code"},
        ),
        (
            {"email": "", "cellphone": "", "country_code": ""},
            {"email", "cellphone", "country_code"},
        ),
        ({}, {"email", "cellphone", "country_code"}),
    ],
)
def test_invalid_users_get_60027_with_each_field(
    client: TestClient, app_key: str, user: dict[str, object], fields: set[str]
) -> None:
    response = client.post(
        "/protected/json/users/new", json={"user": user}, headers=headers(app_key)
    )
    body = assert_error(response, 400, "60027", "User was not valid")
    for field in fields:
        assert body[field] == "is invalid"
        assert body["errors"][field] == "is invalid"
    assert set(body["errors"]) == {"message", *fields}


@pytest.mark.parametrize("key", [None, "", "wrong-key"])
def test_missing_or_wrong_key_is_401_60001(client: TestClient, key: str | None) -> None:
    hdrs = {} if key is None else {"X-Authy-API-Key": key}
    response = client.post("/protected/json/users/new", json={}, headers=hdrs)
    assert_error(response, 401, "60001", "Invalid API key")


def test_status_has_every_field_with_the_right_types(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key, PHONES[3], "st@example.com")
    response = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(app_key))
    assert response.status_code == 200
    body = response.json()
    assert body["message"] == "User status."
    assert body["success"] is True
    status = body["status"]
    assert status == {
        "authy_id": authy_id,
        "confirmed": False,
        "registered": False,
        "country_code": 1,
        "phone_number": "XXX-XXX-0156",
        "email": "st@example.com",
        "devices": [],
        "has_hard_token": False,
        "account_disabled": False,
        "detailed_devices": [],
        "deleted_devices": [],
    }


def test_status_accepts_user_ip_in_a_json_body_on_get(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key)
    response = client.request(
        "GET",
        f"/protected/json/users/{authy_id}/status",
        json={"user_ip": "10.0.0.1"},
        headers=headers(app_key),
    )
    assert response.status_code == 200


@pytest.mark.parametrize("ident", ["424242", "tony", "-1", "1.5", "99999999999999999999999"])
def test_unknown_and_non_numeric_ids_are_user_not_found(
    client: TestClient, app_key: str, ident: str
) -> None:
    response = client.get(f"/protected/json/users/{ident}/status", headers=headers(app_key))
    assert_error(response, 404, "60026", "User not found.")


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/protected/json/users/{id}/remove", "User was added to remove."),
        ("/protected/json/users/{id}/delete", "User removed from application"),
        ("/protected/json/users/delete/{id}", "User removed from application"),
    ],
)
def test_each_delete_path_disables_then_purges_after_the_delay(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, path: str, message: str
) -> None:
    authy_id = register(client, app_key)
    response = client.post(
        path.format(id=authy_id), json={"user_ip": "1.2.3.4"}, headers=headers(app_key)
    )
    assert response.status_code == 200
    assert response.json() == {"message": message, "success": True}
    status = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(app_key))
    assert status.json()["status"]["account_disabled"] is True
    # deleting again is harmless
    assert client.post(path.format(id=authy_id), headers=headers(app_key)).status_code == 200

    clock.advance(runtime.settings.user_purge_delay_seconds - 1)
    assert run_maintenance(runtime)["users_purged"] == 0
    clock.advance(2)
    assert run_maintenance(runtime)["users_purged"] == 1
    gone = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(app_key))
    assert_error(gone, 404, "60026", "User not found.")


def test_registering_again_during_the_delay_restores_the_user(
    client: TestClient, app_key: str
) -> None:
    authy_id = register(client, app_key)
    client.post(f"/protected/json/users/{authy_id}/delete", headers=headers(app_key))
    assert register(client, app_key) == authy_id
    status = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(app_key))
    assert status.json()["status"]["account_disabled"] is False


def test_purge_keeps_the_person_registered_elsewhere(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    other_key = new_app(runtime, "Other")[1]
    authy_id = register(client, app_key)
    register(client, other_key)
    client.post(f"/protected/json/users/{authy_id}/delete", headers=headers(app_key))
    clock.advance(runtime.settings.user_purge_delay_seconds + 1)
    run_maintenance(runtime)
    kept = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(other_key))
    assert kept.status_code == 200
    assert register(client, app_key) == authy_id


def test_deleting_an_unknown_user_is_404(client: TestClient, app_key: str) -> None:
    for path in (
        "/protected/json/users/7/remove",
        "/protected/json/users/7/delete",
        "/protected/json/users/delete/7",
    ):
        assert_error(client.post(path, headers=headers(app_key)), 404, "60026", "User not found.")


def test_register_activity(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key)
    response = client.post(
        f"/protected/json/users/{authy_id}/register_activity",
        content=urlencode({"type": "banned", "user_ip": "10.1.1.1", "data[reason]": "fraud"}),
        headers={**headers(app_key), **FORM},
    )
    assert response.status_code == 200
    assert response.json() == {"message": "Activity was created.", "success": True}


@pytest.mark.parametrize("kind", ["", "hacked", None])
def test_register_activity_refuses_unknown_types(
    client: TestClient, app_key: str, kind: str | None
) -> None:
    authy_id = register(client, app_key)
    payload = {} if kind is None else {"type": kind}
    response = client.post(
        f"/protected/json/users/{authy_id}/register_activity",
        json=payload,
        headers=headers(app_key),
    )
    body = assert_error(response, 400, "60004")
    assert body["message"].startswith("Invalid parameter: type - ")


def test_register_activity_for_unknown_user(client: TestClient, app_key: str) -> None:
    response = client.post(
        "/protected/json/users/5/register_activity",
        json={"type": "cookie_login"},
        headers=headers(app_key),
    )
    assert_error(response, 404, "60026", "User not found.")


def test_update_email(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key)
    response = client.post(
        f"/protected/json/users/{authy_id}/update",
        json={"email": "New@Example.com"},
        headers=headers(app_key),
    )
    assert response.json() == {"message": "User was updated successfully", "success": True}
    status = client.get(f"/protected/json/users/{authy_id}/status", headers=headers(app_key))
    assert status.json()["status"]["email"] == "New@example.com"
    bad = client.post(
        f"/protected/json/users/{authy_id}/update", json={"email": "x"}, headers=headers(app_key)
    )
    assert assert_error(bad, 400, "60027")["email"] == "is invalid"
    missing = client.post(
        "/protected/json/users/9/update", json={"email": "a@example.com"}, headers=headers(app_key)
    )
    assert_error(missing, 404, "60026")


def test_phone_number_export(client: TestClient, app_key: str) -> None:
    authy_id = register(client, app_key, "201 555 0167")
    response = client.get(
        f"/protected/json/users/{authy_id}/phone_number", headers=headers(app_key)
    )
    assert response.json() == {
        "phone_number": "2015550167",
        "country_code": 1,
        "e164": "+12015550167",
        "message": "Phone number.",
        "success": True,
    }
    assert_error(
        client.get("/protected/json/users/8/phone_number", headers=headers(app_key)), 404, "60026"
    )


def test_xml_format(client: TestClient, app_key: str) -> None:
    response = client.post(
        "/protected/xml/users/new",
        json={"user": {"email": "x@example.com", "cellphone": "2015550123", "country_code": 1}},
        headers=headers(app_key),
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/xml")
    assert b"<message>User created successfully.</message>" in response.content
    assert b'<id type="integer">' in response.content
    missing = client.get("/protected/xml/users/999/status", headers=headers(app_key))
    assert missing.status_code == 404
    assert b"<error-code>60026</error-code>" in missing.content

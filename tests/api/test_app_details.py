"""Application details and monthly statistics (spec §8 A1, A2) through HTTP."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import PHONES, assert_error, headers, register
from tests.support import new_app
from twostep.api import app as api_app
from twostep.api.routes import app as app_routes
from twostep.api.routes import phones as phone_routes
from twostep.clock import FrozenClock
from twostep.services import apps, stats
from twostep.services.runtime import Runtime

DETAILS = "/protected/json/app/details"
STATS = "/protected/json/app/stats"
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


def test_details_exact_body(client: TestClient, app_key: str, app_id: int) -> None:
    response = client.get(DETAILS, headers=headers(app_key))
    assert response.status_code == 200
    assert response.content == (
        b'{"app":{"app_id":%d,"name":"Test App","plan":"pay_as_you_go","sms_enabled":true,'
        b'"phone_calls_enabled":true,"onetouch_enabled":true,"white_label":false},'
        b'"message":"Application information.","success":true}' % app_id
    )


def test_details_follow_the_settings(client: TestClient, runtime: Runtime) -> None:
    app, key = new_app(
        runtime,
        "Acme",
        plan="starter",
        sms_enabled="false",
        phone_calls_enabled="false",
        onetouch_enabled="false",
        white_label="true",
    )
    body = client.get(DETAILS, params={"user_ip": "203.0.113.9"}, headers=headers(key)).json()
    assert body["app"] == {
        "app_id": app.id,
        "name": "Acme",
        "plan": "starter",
        "sms_enabled": False,
        "phone_calls_enabled": False,
        "onetouch_enabled": False,
        "white_label": True,
    }


def test_sandbox_details(client: TestClient, runtime: Runtime) -> None:
    app, key = runtime.run(lambda tx: apps.create(tx, "Sandbox App 1", sandbox=True))
    body = client.get(DETAILS, headers=headers(key)).json()
    assert (body["app"]["name"], body["app"]["plan"]) == ("Sandbox App 1", "sandbox")
    assert body["app"]["app_id"] == app.id


def test_stats_shape_of_a_new_application(client: TestClient, app_key: str, app_id: int) -> None:
    response = client.get(STATS, headers=headers(app_key))
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["message", "count", "total_users", "app_id", "success", "stats"]
    assert body["message"] == "Monthly statistics."
    assert (body["count"], body["total_users"], body["app_id"]) == (12, 0, app_id)
    assert body["success"] is True
    months = body["stats"]
    assert len(months) == 12
    assert all(set(m) == STAT_KEYS for m in months)
    # the clock is frozen at 2025-11-24: December 2024 … November 2025, oldest first
    assert (months[0]["month"], months[0]["year"]) == ("December", 2024)
    assert (months[1]["month"], months[1]["year"]) == ("January", 2025)
    assert (months[-1]["month"], months[-1]["year"]) == ("November", 2025)
    assert response.content.count(b'"sms_count":0,"calls_count":0,"users_count":0,') == 12


def test_stats_count_real_events_per_month(
    client: TestClient, runtime: Runtime, app_key: str, app_id: int, clock: FrozenClock
) -> None:
    users = [
        register(client, app_key, phone, f"u{i}@example.com") for i, phone in enumerate(PHONES)
    ]
    client.post(f"/protected/json/users/{users[0]}/remove", headers=headers(app_key))
    # the 6 requests above count as API calls and the 5 registrations as users; the other
    # counters are driven directly here
    runtime.run(lambda tx: stats.count(tx, app_id, api_calls=7, auths=2, sms=3))
    stats.flush(runtime)
    clock.advance(10 * 86400)  # into December 2025
    runtime.run(lambda tx: stats.count(tx, app_id, api_calls=1, calls=4))
    runtime.run(lambda tx: stats.count(tx, app_id, calls=1))
    stats.flush(runtime)
    other = new_app(runtime, "Other")[0]
    runtime.run(lambda tx: stats.count(tx, other.id, api_calls=100, sms=100))
    stats.flush(runtime)

    body = client.get(STATS, headers=headers(app_key)).json()
    assert body["total_users"] == 4  # the removed user no longer counts
    november, december = body["stats"][-2:]
    assert november == {
        "sms_count": 3,
        "calls_count": 0,
        "users_count": 5,
        "auths_count": 2,
        "month": "November",
        "api_calls_count": 7 + 6,
        "year": 2025,
    }
    assert (december["month"], december["year"]) == ("December", 2025)
    # (the stats request itself is counted after it answered)
    assert (december["calls_count"], december["api_calls_count"]) == (5, 1)
    assert body["stats"][0]["month"] == "January"
    assert sum(m["sms_count"] for m in body["stats"]) == 3


def test_bad_key(client: TestClient) -> None:
    assert_error(client.get(STATS, headers=headers("nope")), 401, "60001", "Invalid API key")
    assert_error(client.get(DETAILS), 401, "60001", "Invalid API key")

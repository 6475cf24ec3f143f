"""The webhooks API (spec §6) and event delivery: signed management requests, the events emitted
by the features, and delivery as a JWT to a local receiver."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

import anyio
import httpx
import jwt
import pytest
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.callback_support import Answer, Receiver
from tests.factories import last_code, queued
from tests.onetouch_support import answer, keyed_device
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.core.signatures import sign_api_request
from twostep.services import apps, jobs, webhooks
from twostep.services.events import EVENTS
from twostep.services.runtime import Runtime
from twostep.store import webhooks as webhook_store
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker
from twostep.worker.webhooks import make_webhook_handler

BASE = "/dashboard/json/application/webhooks"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"callback_allow_http": True, "callback_allowed_networks": ["127.0.0.0/8"]}


@pytest.fixture
def keys(runtime: Runtime, test_app: tuple[apps.App, str]) -> webhooks.DashboardKeys:
    return runtime.run(lambda tx: webhooks.keys(tx, test_app[0]))


class Dashboard:
    """A webhooks-API client that signs as the docs describe."""

    def __init__(
        self, client: TestClient, clock: FrozenClock, api_key: str, keys: webhooks.DashboardKeys
    ) -> None:
        self.client, self.clock, self.api_key, self.keys = client, clock, api_key, keys
        self.sequence = 0

    def call(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]] | None = None,
        *,
        nonce: str | None = None,
        sign_with: str | None = None,
        access_key: str | None = None,
    ) -> httpx.Response:
        self.sequence += 1
        nonce = nonce or f"{self.clock.time() + self.sequence / 1000:.6f}"
        pairs = [
            *(params or []),
            ("app_api_key", self.api_key),
            ("access_key", access_key or self.keys.access_key),
        ]
        nested: dict[str, Any] = {}
        for key, value in pairs:
            if key.endswith("[]"):
                nested.setdefault(key[:-2], []).append(value)
            else:
                nested[key] = value
        signature = sign_api_request(
            sign_with or self.keys.signing_key, nonce, method, f"http://testserver{path}", nested
        )
        hdrs = {"X-Authy-Signature": signature, "X-Authy-Signature-Nonce": nonce}
        if method == "POST":
            return self.client.post(
                path,
                content=urlencode(pairs),
                headers={**hdrs, "content-type": "application/x-www-form-urlencoded"},
            )
        return self.client.request(method, f"{path}?{urlencode(pairs)}", headers=hdrs)

    def create(self, url: str, events: list[str], name: str = "hook") -> dict[str, Any]:
        params = [("name", name), ("url", url), *(("events[]", e) for e in events)]
        response = self.call("POST", BASE, params)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body["webhook"]


@pytest.fixture
def dashboard(
    client: TestClient, clock: FrozenClock, app_key: str, keys: webhooks.DashboardKeys
) -> Dashboard:
    return Dashboard(client, clock, app_key, keys)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as server:
        yield server


def test_create_list_delete(dashboard: Dashboard) -> None:
    created = dashboard.create(
        "https://hooks.example.com/twostep", ["user_added", "token_verified"]
    )
    assert created["id"].startswith("WH_")
    assert created["signing_key"].startswith("WSK_")
    assert created["account_sid"].startswith("AC")
    assert created["events"] == ["token_verified", "user_added"]
    assert created["url"] == "https://hooks.example.com/twostep"
    listed = dashboard.call("GET", BASE)
    assert listed.status_code == 200
    assert listed.json()["success"] is True
    assert [w["id"] for w in listed.json()["webhooks"]] == [created["id"]]
    deleted = dashboard.call("DELETE", f"{BASE}/{created['id']}")
    assert deleted.json() == {"message": "Webhook deleted", "success": True}
    assert dashboard.call("GET", BASE).json()["webhooks"] == []
    assert_error(dashboard.call("DELETE", f"{BASE}/{created['id']}"), 404, "60100")


def test_credentials_and_signatures_are_checked(
    dashboard: Dashboard, runtime: Runtime, clock: FrozenClock
) -> None:
    assert_error(dashboard.call("GET", BASE, access_key="wrong"), 401, "60069")
    assert_error(dashboard.call("GET", BASE, sign_with="not-the-signing-key"), 401, "60087")
    nonce = f"{clock.time():.6f}"
    assert dashboard.call("GET", BASE, nonce=nonce).status_code == 200
    assert_error(dashboard.call("GET", BASE, nonce=nonce), 401, "60087")  # replayed
    assert_error(dashboard.call("GET", BASE, nonce=f"{clock.time() - 3600:.6f}"), 401, "60087")
    unsigned = dashboard.client.get(
        BASE, params={"app_api_key": dashboard.api_key, "access_key": dashboard.keys.access_key}
    )
    assert_error(unsigned, 401, "60087")
    other_app, other_key = new_app(runtime, "Other")
    other = Dashboard(
        dashboard.client, clock, other_key, runtime.run(lambda tx: webhooks.keys(tx, other_app))
    )
    mine = dashboard.create("https://a.example/h", ["user_added"])
    assert_error(other.call("DELETE", f"{BASE}/{mine['id']}"), 404, "60100")
    assert other.call("GET", BASE).json()["webhooks"] == []


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ([("url", "https://a.example/h"), ("events[]", "user_added")], "name"),
        ([("name", "n"), ("url", "ftp://a.example/h"), ("events[]", "user_added")], "url"),
        ([("name", "n"), ("url", "https://a.example/h")], "events"),
        ([("name", "n"), ("url", "https://a.example/h"), ("events[]", "nope")], "unknown"),
    ],
)
def test_invalid_webhooks(
    dashboard: Dashboard, params: list[tuple[str, str]], fragment: str
) -> None:
    body = assert_error(dashboard.call("POST", BASE, params), 400, "60098")
    assert fragment in body["message"]


def test_the_cli_shows_and_rotates_keys(runtime: Runtime, test_app: tuple[apps.App, str]) -> None:
    first = runtime.run(lambda tx: webhooks.keys(tx, test_app[0]))
    again = runtime.run(lambda tx: webhooks.keys(tx, test_app[0]))
    assert first == again
    rotated = runtime.run(lambda tx: webhooks.rotate(tx, test_app[0], "signing_key"))
    assert rotated.access_key == first.access_key
    assert rotated.signing_key != first.signing_key


def events_queued(runtime: Runtime) -> list[str]:
    return [job["record"]["event"] for job in queued(runtime, "webhook")]


def test_features_emit_their_events(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    dashboard: Dashboard,
    test_app: tuple[apps.App, str],
) -> None:
    app, key = test_app
    dashboard.create("https://hooks.example.com/all", list(EVENTS))
    user = register(client, key)
    client.get(f"/protected/json/sms/{user}", headers=headers(key))
    client.get(f"/protected/json/verify/{last_code(runtime)}/{user}", headers=headers(key))
    client.get(f"/protected/json/verify/0000001/{user}", headers=headers(key))
    client.post(
        f"/protected/json/users/{user}/register_activity",
        json={"type": "banned"},
        headers=headers(key),
    )
    device = keyed_device(runtime, user, app.id)
    uuid = client.post(
        f"/onetouch/json/users/{user}/approval_requests",
        json={"message": "m"},
        headers=headers(key),
    ).json()["approval_request"]["uuid"]
    answer(runtime, device, uuid, "approved")
    phone = {"country_code": 1, "phone_number": "201-555-0188"}
    client.post(
        "/protected/json/phones/verification/start",
        json={**phone, "via": "sms"},
        headers=headers(key),
    )
    client.get(
        "/protected/json/phones/verification/check",
        params={**phone, "verification_code": "0000"},
        headers=headers(key),
    )
    client.get(
        "/protected/json/phones/verification/check",
        params={**phone, "verification_code": last_code(runtime)},
        headers=headers(key),
    )
    client.get(
        "/protected/json/phones/verification/check",
        params={"country_code": 1, "phone_number": "201-555-0199", "verification_code": "1234"},
        headers=headers(key),
    )
    client.post(
        "/protected/json/phones/verification/start",
        json={**phone, "via": "sms", "custom_message": "hi"},
        headers=headers(key),
    )
    client.post(f"/protected/json/users/{user}/remove", headers=headers(key))
    emitted = events_queued(runtime)
    for event in (
        "user_added",
        "totp_token_sent",
        "token_verified",
        "token_invalid",
        "suspended_account",
        "one_touch_request_responded",
        "phone_verification_started",
        "phone_verification_code_is_invalid",
        "phone_verification_code_is_valid",
        "phone_verification_not_found",
        "custom_message_not_allowed",
        "user_removed",
    ):
        assert event in emitted, (event, emitted)
    for i in range(runtime.settings.verify_fail_limit):
        client.get(f"/protected/json/verify/{9000000 + i}/{user}", headers=headers(key))
    assert "too_many_code_verifications" in events_queued(runtime)
    for _ in range(6):
        client.post(
            "/protected/json/phones/verification/start",
            json={"country_code": 1, "phone_number": "201-555-0177", "via": "sms"},
            headers=headers(key),
        )
    assert "too_many_phone_verifications" in events_queued(runtime)


def test_only_subscribed_events_of_the_application_are_queued(
    client: TestClient, runtime: Runtime, dashboard: Dashboard, app_key: str
) -> None:
    dashboard.create("https://hooks.example.com/removed", ["user_removed"])
    other_key = new_app(runtime, "Other")[1]
    register(client, other_key, "201-555-0111")
    user = register(client, app_key)
    assert events_queued(runtime) == []
    client.post(f"/protected/json/users/{user}/delete", headers=headers(app_key))
    assert events_queued(runtime) == ["user_removed"]


def deliver(runtime: Runtime) -> int:
    async def go() -> int:
        async with httpx.AsyncClient() as http:
            handler = make_webhook_handler(runtime, http)
            return await Worker(
                runtime, Dispatcher(runtime, handlers={"webhook": handler})
            ).run_once()

    return anyio.run(go)


def test_events_are_delivered_as_jwt_signed_with_the_webhook_key(
    client: TestClient, runtime: Runtime, dashboard: Dashboard, app_key: str, receiver: Receiver
) -> None:
    hook = dashboard.create(receiver.url("/hooks"), ["user_added"])
    user = register(client, app_key)
    assert deliver(runtime) == 1
    [request] = receiver.received()
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    token = dict(parse_qsl(request.body.decode()))["body"]
    claims = jwt.decode(token, hook["signing_key"], algorithms=["HS256"])
    assert claims["event"] == "user_added"
    assert claims["objects"]["user"]["s_authy_id"] == str(user)
    assert claims["objects"]["app"]["s_account_sid"] == hook["account_sid"]
    assert claims["jti"] == request.headers["idempotency-key"]
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "WSK_" + "x" * 40, algorithms=["HS256"])


def test_failed_deliveries_retry_and_unsafe_urls_die(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    dashboard: Dashboard,
    app_key: str,
    receiver: Receiver,
) -> None:
    dashboard.create(receiver.url("/hooks"), ["user_added"])
    dashboard.create("http://10.0.0.1/hooks", ["user_added"])
    receiver.queue(Answer(status=503))
    register(client, app_key)
    deliver(runtime)
    statuses = {(j["status"], j["last_error"].split(":")[0]) for j in runtime.run(jobs.list_jobs)}
    assert statuses == {("pending", "webhook"), ("dead", "webhook")}
    clock.advance(3600)
    deliver(runtime)
    assert len(receiver.received()) == 2


def test_device_enrolment_and_recovery_events(
    client: TestClient, runtime: Runtime, clock: FrozenClock, dashboard: Dashboard, app_key: str
) -> None:
    from tests.api.device_flows import PHONES, enroll_by_phone

    dashboard.create(
        "https://hooks.example.com/devices",
        ["device_registration_completed", "account_recovery_started"],
    )
    register(client, app_key, PHONES[0])
    enroll_by_phone(client, runtime, clock, PHONES[0])
    assert events_queued(runtime) == ["device_registration_completed"]
    enroll_by_phone(client, runtime, clock, PHONES[0], status=202)  # a second phone: SIM-swap path
    assert events_queued(runtime) == ["device_registration_completed", "account_recovery_started"]


def _with_cache_seconds(runtime: Runtime, seconds: float) -> None:
    runtime.settings = runtime.settings.model_copy(update={"app_cache_seconds": seconds})


def test_webhook_changes_through_this_process_apply_at_once(
    client: TestClient, runtime: Runtime, dashboard: Dashboard, app_key: str
) -> None:
    _with_cache_seconds(runtime, 60)  # longer than the test: only the invalidation can help
    register(client, app_key, "201-555-0111")  # remembered: no webhooks
    hook = dashboard.create("https://hooks.example.com/added", ["user_added"])
    register(client, app_key, "201-555-0112")
    assert events_queued(runtime) == ["user_added"]
    dashboard.call("DELETE", f"{BASE}/{hook['id']}")
    register(client, app_key, "201-555-0113")
    assert events_queued(runtime) == ["user_added"]


def test_webhooks_are_remembered_per_application_for_the_cache_time(
    client: TestClient, runtime: Runtime, test_app: tuple[apps.App, str], app_key: str
) -> None:
    """A webhook written by another process (here: straight into the database) reaches this one
    after ``app_cache_seconds``: at once with 0, not within 60 once remembered; and what one
    application's webhooks are is never taken for another's."""
    other_key = new_app(runtime, "Other")[1]

    def add_hook(public_id: str) -> None:
        runtime.run(
            lambda tx: webhook_store.insert_webhook(
                tx.conn,
                public_id=public_id,
                app_id=test_app[0].id,
                name="hook",
                url="https://hooks.example.com/x",
                events=["user_added"],
                created_at=tx.now,
                signing_key=tx.keyring.seal(b"WSK_x", f"webhooks:{public_id}"),
            )
        )

    _with_cache_seconds(runtime, 0)
    register(client, app_key, "201-555-0121")
    add_hook("WH_first")
    register(client, app_key, "201-555-0122")
    assert events_queued(runtime) == ["user_added"]

    _with_cache_seconds(runtime, 60)
    register(client, other_key, "201-555-0123")  # the other application: none, remembered
    register(client, app_key, "201-555-0124")  # this one: one webhook, remembered
    add_hook("WH_second")
    register(client, app_key, "201-555-0125")
    register(client, other_key, "201-555-0126")
    assert events_queued(runtime) == ["user_added"] * 3  # one for 0122, 0124, 0125 each

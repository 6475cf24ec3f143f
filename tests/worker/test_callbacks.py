"""OneTouch callbacks end to end: a device answers, the worker signs and sends the callback to a
receiver on a real socket, and the real client libraries (authy Python, authy-client for Node)
accept the signature. Then retries, dead letters, refusals and the cases with no callback."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import anyio
import httpx
import orjson
import pytest
from authy.api.resources import OneTouch
from starlette.testclient import TestClient

from tests.api.helpers import register
from tests.callback_support import (
    Answer,
    Phone,
    Receiver,
    add_phone,
    node_verify,
    request_approval,
)
from tests.conftest import START
from tests.factories import queued
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.core.signatures import sign_callback, to_query
from twostep.errors import ApprovalRequestNotPending
from twostep.services import approvals, apps, attempts, jobs
from twostep.services.runtime import Runtime
from twostep.worker.callbacks import build_request, make_callback_handler
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker

# the top-level members of the callback body in spec O3
SPEC_KEYS = {"authy_id", "device_uuid", "callback_action", "uuid", "status", "approval_request"}
SPEC_KEYS |= {"signature", "device"}


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"callback_allow_http": True, "callback_allowed_networks": ["127.0.0.0/8"]}


@pytest.fixture
def receiver() -> Any:
    with Receiver() as r:
        yield r


def run_worker(rt: Runtime) -> int:
    async def go() -> int:
        async with httpx.AsyncClient() as http:
            handler = make_callback_handler(rt, http)
            return await Worker(rt, Dispatcher(rt, handlers={"callback": handler})).run_once()

    return anyio.run(go)


def onetouch_user(
    rt: Runtime, client: TestClient, url: str, method: str = "POST"
) -> tuple[apps.App, str, int, Phone]:
    app, key = new_app(rt, onetouch_callback_url=url, onetouch_callback_method=method)
    authy_id = register(client, key)
    return app, key, authy_id, add_phone(rt, authy_id, app.id)


def callback_jobs(rt: Runtime) -> list[dict[str, Any]]:
    return [j for j in rt.run(jobs.list_jobs) if j["kind"] == "callback"]


def test_post_callbacks_are_signed_and_verify_with_the_real_clients(
    runtime: Runtime, client: TestClient, receiver: Receiver
) -> None:
    url = receiver.url("/hooks/onetouch")
    _app, key, authy_id, phone = onetouch_user(runtime, client, url)
    approved = request_approval(client.post, key, authy_id, details={"Username": "ann"})
    logos = [
        {"res": "default", "url": "https://example.com/a.png"},
        {"res": "med", "url": "https://example.com/b.png"},
    ]
    denied = request_approval(client.post, key, authy_id, logos=logos)
    phone.answer(approved, "approved")
    phone.answer(denied, "denied")
    expected = {p["params"]["uuid"]: p for p in queued(runtime, "callback")}
    job_keys = {j["idempotency_key"] for j in callback_jobs(runtime)}

    run_worker(runtime)

    got = {json.loads(r.body)["uuid"]: r for r in receiver.received()}
    assert set(got) == {approved, denied}
    for uuid, status in ((approved, "approved"), (denied, "denied")):
        request, params = got[uuid], expected[uuid]["params"]
        assert (request.method, request.target) == ("POST", "/hooks/onetouch")
        assert request.body == orjson.dumps(params)  # compact JSON, the queued body exactly
        body = json.loads(request.body)
        assert set(body) == SPEC_KEYS
        assert body["status"] == body["approval_request"]["transaction"]["status"] == status
        assert isinstance(body["device_uuid"], str)
        headers = request.headers
        assert headers["content-type"] == "application/json"
        assert headers["host"] == f"127.0.0.1:{receiver.port}"
        assert headers["user-agent"].startswith("TwoStep/")
        assert headers["user-agent"].endswith("(callbacks)")
        assert headers["idempotency-key"] in job_keys
        nonce, signature = headers["x-authy-signature-nonce"], headers["x-authy-signature"]
        assert nonce == str(int(START))
        assert signature == sign_callback(key, nonce, "POST", url, params)
        python = OneTouch("https://api.authy.com", key)
        assert python.validate_one_touch_signature(signature, nonce, "POST", url, body) is True
        node = node_verify(key, request)
        assert node["ok"], node
        forged = replace(request, body=request.body.replace(b'"ann"', b'"eve"'))
        if uuid == approved:
            assert not node_verify(key, forged)["ok"]
    assert {j["status"] for j in callback_jobs(runtime)} == {"done"}


def test_get_callbacks_carry_the_canonical_query(
    runtime: Runtime, client: TestClient, receiver: Receiver
) -> None:
    url = receiver.url("/cb")
    _app, key, authy_id, phone = onetouch_user(runtime, client, url, method="GET")
    uuid = request_approval(client.post, key, authy_id, details={"Account": "7 & 8"})
    phone.answer(uuid, "approved")
    [queued_job] = queued(runtime, "callback")
    params = queued_job["params"]

    run_worker(runtime)

    [request] = receiver.received()
    assert (request.method, request.path, request.body) == ("GET", "/cb", b"")
    assert request.query == to_query(params)
    assert "content-type" not in request.headers
    nonce, signature = (
        request.headers["x-authy-signature-nonce"],
        request.headers["x-authy-signature"],
    )
    assert signature == sign_callback(key, nonce, "GET", url, params)
    python = OneTouch("https://api.authy.com", key)
    assert python.validate_one_touch_signature(signature, nonce, "GET", url, params) is True
    # authy-client does not check GET signatures, but it must accept the request's shape
    assert node_verify(key, replace(request, body=json.dumps(params).encode()))["ok"]


def test_a_query_on_the_configured_url_is_kept_and_signed(
    runtime: Runtime, client: TestClient, receiver: Receiver
) -> None:
    base = receiver.url("/cb")
    _app, key, authy_id, phone = onetouch_user(runtime, client, f"{base}?tenant=a%2Fb", "GET")
    phone.answer(request_approval(client.post, key, authy_id), "approved")
    params = queued(runtime, "callback")[0]["params"]

    run_worker(runtime)

    [request] = receiver.received()
    signed = {**params, "tenant": "a/b"}
    assert request.query == to_query(signed)
    assert "tenant=a%2Fb" in request.query.split("&")
    nonce, signature = (
        request.headers["x-authy-signature-nonce"],
        request.headers["x-authy-signature"],
    )
    python = OneTouch("https://api.authy.com", key)
    assert python.validate_one_touch_signature(signature, nonce, "GET", base, signed) is True


def test_post_to_a_url_with_a_query_signs_the_url_without_it() -> None:
    built = build_request("https://example.com/cb?tenant=7#frag", "post", {"a": 1})
    assert (built.method, built.url, built.signed_url) == (
        "POST",
        "https://example.com/cb?tenant=7",
        "https://example.com/cb",
    )
    assert built.body == b'{"a":1}'


@pytest.mark.parametrize(
    ("query", "problem"),
    [("status=x", "reserved"), ("a=1&a=2", "repeats"), ("uuid[x]=1", "reserved")],
)
def test_get_urls_whose_query_clashes_are_refused(query: str, problem: str) -> None:
    from twostep.worker.callbacks import CallbackRefused

    with pytest.raises(CallbackRefused, match=problem):
        build_request(f"https://example.com/cb?{query}", "GET", {"status": "approved", "uuid": "u"})


def test_failures_are_retried_with_backoff_then_delivered(
    runtime: Runtime, client: TestClient, receiver: Receiver, clock: FrozenClock
) -> None:
    _app, key, authy_id, phone = onetouch_user(runtime, client, receiver.url())
    phone.answer(request_approval(client.post, key, authy_id), "approved")
    receiver.queue(Answer(500))
    receiver.queue(Answer(404))

    run_worker(runtime)
    [job] = callback_jobs(runtime)
    assert (job["status"], job["attempts"]) == ("pending", 1)
    assert job["last_error"] == "callback: HTTP 500 from 127.0.0.1"
    run_worker(runtime)
    assert len(receiver.received()) == 1  # not due yet: backing off
    clock.advance(runtime.settings.outbox_backoff_max_seconds * 1.5 + 1)
    run_worker(runtime)
    [job] = callback_jobs(runtime)
    assert (job["status"], job["attempts"], job["last_error"]) == (
        "pending",
        2,
        "callback: HTTP 404 from 127.0.0.1",
    )
    clock.advance(runtime.settings.outbox_backoff_max_seconds * 1.5 + 1)
    run_worker(runtime)
    [job] = callback_jobs(runtime)
    assert (job["status"], job["attempts"]) == ("done", 3)
    first, second, third = receiver.received()
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"]
    assert third.headers["idempotency-key"] == job["idempotency_key"]
    assert first.body == third.body
    assert third.headers["x-authy-signature-nonce"] != first.headers["x-authy-signature-nonce"]
    for request in (first, second, third):
        assert key not in str(job["last_error"])
        assert request.headers["x-authy-signature"] not in str(job["last_error"])


def test_410_means_stop(runtime: Runtime, client: TestClient, receiver: Receiver) -> None:
    _app, key, authy_id, phone = onetouch_user(runtime, client, receiver.url())
    phone.answer(request_approval(client.post, key, authy_id), "denied")
    receiver.queue(Answer(410))
    run_worker(runtime)
    [job] = callback_jobs(runtime)
    assert (job["status"], job["attempts"]) == ("dead", 1)
    assert "410" in job["last_error"]
    assert len(receiver.received()) == 1


@pytest.mark.parametrize(
    ("update", "reason"),
    [
        ({"callback_allowed_networks": []}, "127.0.0.1 resolves to 127.0.0.1 (loopback address)"),
        ({"callback_allow_http": False}, "only https URLs are allowed"),
    ],
)
def test_an_unsafe_url_is_dead_at_once_and_nothing_is_sent(
    runtime: Runtime, client: TestClient, receiver: Receiver, update: dict[str, Any], reason: str
) -> None:
    _app, key, authy_id, phone = onetouch_user(runtime, client, receiver.url())
    phone.answer(request_approval(client.post, key, authy_id), "approved")
    strict = replace(runtime, settings=runtime.settings.model_copy(update=update))
    run_worker(strict)
    [job] = callback_jobs(runtime)
    assert (job["status"], job["attempts"]) == ("dead", 1)
    assert job["last_error"] == f"callback: refused: {reason}"
    assert receiver.received() == []


def test_the_current_key_signs_after_a_rotation(
    runtime: Runtime, client: TestClient, receiver: Receiver
) -> None:
    app, old_key, authy_id, phone = onetouch_user(runtime, client, receiver.url())
    phone.answer(request_approval(client.post, old_key, authy_id), "approved")
    new_key = runtime.run(lambda tx: apps.rotate_key(tx, app))
    run_worker(runtime)
    [request] = receiver.received()
    nonce, signature = (
        request.headers["x-authy-signature-nonce"],
        request.headers["x-authy-signature"],
    )
    body = json.loads(request.body)
    assert OneTouch("x", new_key).validate_one_touch_signature(
        signature, nonce, "POST", receiver.url(), body
    )
    assert node_verify(new_key, request)["ok"]


def test_no_callback_without_a_url(
    runtime: Runtime, client: TestClient, receiver: Receiver
) -> None:
    _app, key, authy_id, phone = onetouch_user(runtime, client, "")
    phone.answer(request_approval(client.post, key, authy_id), "approved")
    run_worker(runtime)
    assert callback_jobs(runtime) == []
    assert receiver.received() == []


def test_expired_requests_send_no_callback(
    runtime: Runtime, client: TestClient, receiver: Receiver, clock: FrozenClock
) -> None:
    _app, key, authy_id, phone = onetouch_user(runtime, client, receiver.url())
    uuid = request_approval(client.post, key, authy_id, seconds_to_expire=60)
    digest = phone.shown_digest(uuid)
    clock.advance(61)
    assert runtime.run(approvals.expire_due) == 1
    with pytest.raises(ApprovalRequestNotPending):
        phone.answer(uuid, "approved", digest=digest)
    run_worker(runtime)
    assert callback_jobs(runtime) == []
    assert receiver.received() == []


def test_attempts_are_recorded_per_job(runtime: Runtime, clock: FrozenClock) -> None:
    runtime.run(lambda tx: attempts.record(tx, 41, 1, "callback", False, "HTTP 500", 12))
    clock.advance(5)
    runtime.run(lambda tx: attempts.record(tx, 41, 2, "callback", True, "HTTP 200", 7))
    runtime.run(lambda tx: attempts.record(tx, 42, 1, "x" * 40, True, None, -3))
    first, second = runtime.run(lambda tx: attempts.for_job(tx, 41), write=False)
    assert (first.attempt, first.ok, first.detail, first.duration_ms) == (1, False, "HTTP 500", 12)
    assert (second.attempt, second.ok, second.provider) == (2, True, "callback")
    assert second.at.timestamp() == START + 5
    assert second.as_json()["at"] == second.at.isoformat()
    [other] = runtime.run(lambda tx: attempts.for_job(tx, 42), write=False)
    assert (other.provider, other.detail, other.duration_ms) == ("x" * 32, None, 0)

"""Callbacks survive crashes of the worker: real ``twostep worker`` processes are SIGKILLed while
their callback requests are in flight (the receiver stalls its answers). After restarts every
callback has arrived at least once, each repeat carries the first delivery's Idempotency-Key, and
every job ends done."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from authy.api.resources import OneTouch
from starlette.testclient import TestClient

from tests.api.helpers import register
from tests.callback_support import Answer, Captured, Receiver, add_phone, request_approval
from tests.support import ServerProcess, make_runtime, make_settings, new_app
from twostep.api.app import create_app
from twostep.services import jobs
from twostep.services.runtime import Runtime

pytestmark = pytest.mark.slow

CALLBACKS = 6
STALL = 60.0  # seconds: longer than the test waits, so the worker is mid-request when killed
WORKER_ENV = {
    "TWOSTEP_CALLBACK_ALLOW_HTTP": "true",
    "TWOSTEP_CALLBACK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    "TWOSTEP_CALLBACK_TIMEOUT_SECONDS": "60",
    "TWOSTEP_OUTBOX_LEASE_SECONDS": "5",  # a dead worker's jobs come back after 5 s
    "TWOSTEP_OUTBOX_POLL_SECONDS": "0.2",
}


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def rt(database_url: str, tmp_path: Path) -> Iterator[Runtime]:
    runtime = make_runtime(make_settings(database_url, tmp_path))
    yield runtime
    runtime.db.dispose()


def callback_jobs(rt: Runtime) -> list[dict[str, object]]:
    return [j for j in rt.run(jobs.list_jobs, write=False) if j["kind"] == "callback"]


def done(rt: Runtime) -> int:
    return sum(1 for j in callback_jobs(rt) if j["status"] == "done")


def by_uuid(requests: list[Captured]) -> dict[str, list[Captured]]:
    grouped: dict[str, list[Captured]] = defaultdict(list)
    for request in requests:
        grouped[json.loads(request.body)["uuid"]].append(request)
    return grouped


def test_no_callback_is_lost_when_workers_die_mid_request(
    rt: Runtime, database_url: str, tmp_path: Path
) -> None:
    with Receiver() as receiver:
        url = receiver.url("/onetouch")
        app, key = new_app(rt, onetouch_callback_url=url)
        client = TestClient(create_app(rt))
        authy_id = register(client, key)
        phone = add_phone(rt, authy_id, app.id)
        uuids = [
            request_approval(client.post, key, authy_id, f"Login {n}") for n in range(CALLBACKS)
        ]
        for n, uuid in enumerate(uuids):
            phone.answer(uuid, "approved" if n % 2 else "denied")
        assert len(callback_jobs(rt)) == CALLBACKS

        # 1. every callback is in flight, stalled, when the worker dies
        receiver.queue(Answer(200, delay=STALL), times=CALLBACKS)
        with ServerProcess(database_url, tmp_path, command="worker", env=WORKER_ENV) as worker:
            wait_for(lambda: len(receiver.received()) == CALLBACKS, "the first deliveries")
            worker.kill()
        assert done(rt) == 0

        # 2. after the lease, a new worker redelivers; two stall again and it dies once more
        receiver.queue(Answer(200, delay=STALL), times=2)
        with ServerProcess(database_url, tmp_path, command="worker", env=WORKER_ENV) as worker:
            wait_for(lambda: done(rt) == CALLBACKS - 2, "the second round")
            wait_for(lambda: len(receiver.received()) >= 2 * CALLBACKS, "the stalled ones")
            worker.kill()

        # 3. a third worker finishes the job
        with ServerProcess(database_url, tmp_path, command="worker", env=WORKER_ENV) as worker:
            wait_for(lambda: done(rt) == CALLBACKS, "every callback delivered")
            time.sleep(1.0)  # a stray duplicate would show up now
            assert worker.stop() == 0

        received = receiver.received()

    grouped = by_uuid(received)
    assert set(grouped) == set(uuids)  # none lost
    keys = {
        uuid: {r.headers["idempotency-key"] for r in requests} for uuid, requests in grouped.items()
    }
    assert all(len(k) == 1 for k in keys.values()), keys  # every repeat carries the same key
    assert len({k for ks in keys.values() for k in ks}) == CALLBACKS  # one key per callback
    assert {j["idempotency_key"] for j in callback_jobs(rt)} == {
        k for ks in keys.values() for k in ks
    }
    # all were in flight at the first crash; two more at the second (a lease running out while
    # a request stalls may add a repeat: at least once, never at most once)
    counts = sorted(len(r) for r in grouped.values())
    assert counts[0] >= 2
    assert counts[-2] >= 3
    verifier = OneTouch("https://api.authy.com", key)
    for request in received:
        body = json.loads(request.body)
        assert verifier.validate_one_touch_signature(
            request.headers["x-authy-signature"],
            request.headers["x-authy-signature-nonce"],
            "POST",
            url,
            body,
        )

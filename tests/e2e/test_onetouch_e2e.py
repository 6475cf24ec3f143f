"""OneTouch end to end with real processes: ``twostep serve`` (and ``twostep worker``), the
``twostep authenticator`` command line as the person's device, a customer application speaking the
Authy API, and the customer's callback receiver on a real socket whose requests the real Python
(``authy``) and Node (``authy-client``) libraries verify.

1. A full login, approved then denied, and a request that expires unanswered (no callback).
2. Two API nodes on one PostgreSQL database: a long poll on one node learns at once of an answer
   given through the other; a separate worker process delivers the callback.
3. A graceful stop (SIGTERM) while a device stream and a long poll are open."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authy.api.resources import OneTouch

from tests.api.helpers import PHONES
from tests.callback_support import Captured, Receiver, node_verify
from tests.support import ServerProcess, new_app
from twostep.authenticator.client import DeviceClient, new_http
from twostep.authenticator.state import load
from twostep.clock import SystemClock
from twostep.services import jobs
from twostep.services.runtime import Runtime

pytestmark = pytest.mark.slow

PHONE = "+1" + PHONES[0].replace("-", "")
CALLBACK_ENV = {
    "TWOSTEP_CALLBACK_ALLOW_HTTP": "true",
    "TWOSTEP_CALLBACK_ALLOWED_NETWORKS": '["127.0.0.0/8"]',
    "TWOSTEP_OUTBOX_POLL_SECONDS": "0.2",
}
GRACE = 30.0  # `twostep serve`'s graceful-shutdown timeout


@pytest.fixture
def clock() -> SystemClock:  # type: ignore[override]
    return SystemClock()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class Customer:
    """The customer application: its API key, speaking the Authy API to one node."""

    def __init__(self, url: str, key: str) -> None:
        self.http = httpx.Client(base_url=url, headers={"X-Authy-API-Key": key}, timeout=70)

    def register(self) -> int:
        user = {"email": "ann@example.com", "cellphone": PHONES[0], "country_code": 1}
        made = self.http.post("/protected/json/users/new", json={"user": user})
        assert made.status_code == 200, made.text
        authy_id: int = made.json()["user"]["id"]
        return authy_id

    def ask(self, authy_id: int, message: str, **extra: Any) -> str:  # O1
        made = self.http.post(
            f"/onetouch/json/users/{authy_id}/approval_requests",
            json={"message": message, "details": {"Username": "ann"}, **extra},
        )
        assert made.status_code == 200, made.text
        uuid: str = made.json()["approval_request"]["uuid"]
        return uuid

    def status(self, uuid: str, wait: int = 0) -> str:  # O2, with the long-poll extension
        query = f"?wait={wait}" if wait else ""
        got = self.http.get(f"/onetouch/json/approval_requests/{uuid}{query}")
        assert got.status_code == 200, got.text
        status: str = got.json()["approval_request"]["status"]
        return status


@pytest.fixture
def customers() -> Iterator[Callable[[str, str], Customer]]:
    made: list[Customer] = []

    def make(url: str, key: str) -> Customer:
        made.append(Customer(url, key))
        return made[-1]

    yield make
    for customer in made:
        customer.http.close()


def authenticator(state: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``twostep authenticator …`` as a separate process."""
    argv = [sys.executable, "-m", "twostep", "authenticator", *args, "--state", str(state)]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def enroll(runtime: Runtime, server: str, state: Path) -> None:
    """Enroll by phone, typing the PIN the worker handed to the development provider."""
    argv = [sys.executable, "-m", "twostep", "authenticator", "enroll", "--server", server]
    argv += ["--phone", PHONE, "--state", str(state)]
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as proc:

        def pin() -> str | None:
            sent = runtime.run(lambda tx: jobs.dev_messages(tx, PHONE), write=False)
            return next((m.code for m in sent if m.channel == "sms" and m.code), None)

        code = wait_for(pin, "the PIN in the development outbox")
        out, _ = proc.communicate(f"{code}\n", timeout=60)
    assert proc.returncode == 0, out
    assert "Accounts: Acme Bank" in out


def callback_for(receiver: Receiver, uuid: str) -> Captured | None:
    return next((r for r in receiver.received() if json.loads(r.body)["uuid"] == uuid), None)


def verified(receiver: Receiver, key: str, uuid: str, status: str) -> None:
    """The callback for ``uuid`` arrived, says ``status``, and both real clients accept it."""
    request: Captured = wait_for(lambda: callback_for(receiver, uuid), f"the callback of {uuid}")
    body = json.loads(request.body)
    assert body["status"] == body["approval_request"]["transaction"]["status"] == status
    headers = request.headers
    python = OneTouch("https://api.authy.com", key)
    assert python.validate_one_touch_signature(
        headers["x-authy-signature"],
        headers["x-authy-signature-nonce"],
        "POST",
        receiver.url("/hooks/onetouch"),
        body,
    )
    assert node_verify(key, request)["ok"]


def customer_app(runtime: Runtime, receiver: Receiver) -> str:
    _app, key = new_app(runtime, "Acme Bank", onetouch_callback_url=receiver.url("/hooks/onetouch"))
    return key


def test_full_onetouch_login_with_the_cli_authenticator(
    runtime: Runtime,
    database_url: str,
    tmp_path: Path,
    receiver: Receiver,
    customers: Callable[[str, str], Customer],
) -> None:
    key = customer_app(runtime, receiver)
    state = tmp_path / "ann" / "authenticator.json"
    with ServerProcess(database_url, tmp_path, env=CALLBACK_ENV) as server:
        server.wait_ready()
        customer = customers(server.url, key)
        authy_id = customer.register()
        enroll(runtime, server.url, state)

        approved = customer.ask(authy_id, "Log in to Acme Bank?")
        watched = authenticator(state, "watch", "--auto-approve", "--count", "1")
        assert "Log in to Acme Bank?" in watched.stdout
        assert "-> approved" in watched.stdout
        verified(receiver, key, approved, "approved")
        assert customer.status(approved) == "approved"

        denied = customer.ask(authy_id, "Log in from an unknown place?")
        listed = authenticator(state, "pending")
        assert denied in listed.stdout
        assert "Username: ann" in listed.stdout
        assert authenticator(state, "deny", denied).stdout.strip().endswith("denied")
        verified(receiver, key, denied, "denied")
        assert customer.status(denied) == "denied"
        assert server.stop() in (0, -signal.SIGTERM)  # see test_serve_exits_0_on_sigterm


def test_an_unanswered_request_expires_without_a_callback(
    runtime: Runtime,
    database_url: str,
    tmp_path: Path,
    receiver: Receiver,
    customers: Callable[[str, str], Customer],
) -> None:
    key = customer_app(runtime, receiver)
    state = tmp_path / "ann" / "authenticator.json"
    with ServerProcess(database_url, tmp_path, env=CALLBACK_ENV) as server:
        server.wait_ready()
        customer = customers(server.url, key)
        authy_id = customer.register()
        enroll(runtime, server.url, state)
        device = load(state)
        with new_http(device.server) as http:
            phone = DeviceClient(http, device.key(), device.device_uuid)
            uuid = customer.ask(authy_id, "Quick, log in?", seconds_to_expire=2)
            started = time.monotonic()
            assert [r["uuid"] for r in phone.pending()] == [uuid]  # shown, never answered
        assert customer.status(uuid, wait=10) == "expired"
        assert 1.0 <= time.monotonic() - started < 5
        assert json.loads(authenticator(state, "pending", "--json").stdout) == []
        time.sleep(2.0)  # a callback, if one were wrongly queued, would have arrived by now
        assert customer.status(uuid) == "expired"
        assert receiver.received() == []
        assert not [j for j in runtime.run(jobs.list_jobs) if j["kind"] == "callback"]


# Two API nodes need PostgreSQL (LISTEN/NOTIFY between processes); SQLite's single node is above.
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_nodes_on_postgresql_long_poll_sees_an_answer_given_on_the_other_node(
    runtime: Runtime,
    database_url: str,
    tmp_path: Path,
    receiver: Receiver,
    customers: Callable[[str, str], Customer],
) -> None:
    key = customer_app(runtime, receiver)
    state = tmp_path / "ann" / "authenticator.json"
    with (
        ServerProcess(database_url, tmp_path, "--no-worker", env=CALLBACK_ENV) as node_a,
        ServerProcess(database_url, tmp_path, "--no-worker", env=CALLBACK_ENV) as node_b,
        ServerProcess(database_url, tmp_path, command="worker", env=CALLBACK_ENV) as worker,
    ):
        node_a.wait_ready()
        node_b.wait_ready()
        customer = customers(node_a.url, key)
        authy_id = customer.register()
        enroll(runtime, node_b.url, state)  # the separate worker sends the PIN
        uuid = customer.ask(authy_id, "Log in on node A?")

        polled: dict[str, Any] = {}

        def long_poll() -> None:
            polled["status"] = customer.status(uuid, wait=30)
            polled["at"] = time.monotonic()

        poller = threading.Thread(target=long_poll, daemon=True)
        poller.start()
        time.sleep(1.0)
        assert poller.is_alive()  # waiting on node A
        answered = authenticator(state, "approve", uuid)  # signed, sent to node B
        answered_at = time.monotonic()
        assert answered.stdout.strip().endswith("approved")
        poller.join(timeout=10)
        assert polled["status"] == "approved"
        assert polled["at"] - answered_at < 3.0  # far below the 30 s wait
        verified(receiver, key, uuid, "approved")  # delivered by the worker process
        assert worker.process.poll() is None
        assert worker.stop() == 0


def test_graceful_stop_ends_the_device_stream_and_the_long_poll(
    runtime: Runtime,
    database_url: str,
    tmp_path: Path,
    receiver: Receiver,
    customers: Callable[[str, str], Customer],
) -> None:
    key = customer_app(runtime, receiver)
    state = tmp_path / "ann" / "authenticator.json"
    with ServerProcess(database_url, tmp_path, env=CALLBACK_ENV) as server:
        server.wait_ready()
        customer = customers(server.url, key)
        authy_id = customer.register()
        enroll(runtime, server.url, state)
        uuid = customer.ask(authy_id, "Still there?")
        device = load(state)
        ended: dict[str, float] = {}
        streaming = threading.Event()

        def stream() -> None:
            with new_http(device.server) as http:
                client = DeviceClient(http, device.key(), device.device_uuid)
                try:
                    with client.stream() as response:
                        for line in response.iter_lines():
                            if line.startswith("event: approval_request"):
                                streaming.set()
                except Exception:
                    pass
            ended["stream"] = time.monotonic()

        answered: list[str] = []

        def long_poll() -> None:
            with contextlib.suppress(AssertionError, httpx.HTTPError):
                answered.append(customer.status(uuid, wait=60))
            ended["long poll"] = time.monotonic()

        threads = [threading.Thread(target=t, daemon=True) for t in (stream, long_poll)]
        for thread in threads:
            thread.start()
        assert streaming.wait(10)
        time.sleep(0.5)
        stopped_at = time.monotonic()
        code = server.stop(timeout=GRACE + 30)
        exited_after = time.monotonic() - stopped_at
        for thread in threads:
            thread.join(timeout=10)
        assert set(ended) == {"stream", "long poll"}
        for what, when in ended.items():
            # the signal wakes them: they end at once, not when the grace period runs out
            assert when - stopped_at < 5, f"the {what} held the shutdown"
        assert answered == ["pending"]  # the long poll answered with the state at that moment
        assert exited_after < 10
        assert code == 0


def test_serve_exits_0_on_sigterm(database_url: str, tmp_path: Path) -> None:
    with ServerProcess(database_url, tmp_path) as server:
        server.wait_ready()
        assert server.stop() == 0

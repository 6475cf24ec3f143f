"""The worker loop in-process: delivery outcomes, backoff, dead letters, the development sink."""

from __future__ import annotations

import random
import time
from collections.abc import Awaitable, Callable

import anyio
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.support import TEST_MASTER_KEY
from twostep.cli.main import cli
from twostep.clock import FrozenClock
from twostep.delivery.base import DeliveryResult
from twostep.services import jobs
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime
from twostep.worker.dispatch import Dispatcher
from twostep.worker.retry import Backoff
from twostep.worker.runner import Worker


def run_once(rt: Runtime, deliver: Callable[[Job], Awaitable[DeliveryResult]]) -> int:
    async def go() -> int:
        return await Worker(rt, deliver).run_once()

    return anyio.run(go)


@pytest.fixture
def sms_queued(client: TestClient, app_key: str) -> int:
    user = register(client, app_key, "201-555-0123")
    assert client.get(f"/protected/json/sms/{user}", headers=headers(app_key)).status_code == 200
    return user


@pytest.mark.usefixtures("sms_queued")
def test_dev_sink_records_the_message_and_the_job_is_done(runtime: Runtime) -> None:
    assert run_once(runtime, Dispatcher(runtime)) == 1
    [message] = runtime.run(lambda tx: jobs.dev_messages(tx, "+12015550123"))
    assert message.channel == "sms"
    assert message.code is not None
    assert message.code in message.body
    [job] = runtime.run(jobs.list_jobs)
    assert (job["status"], job["attempts"], job["provider"]) == ("done", 1, "outbox")
    assert run_once(runtime, Dispatcher(runtime)) == 0


def failing(retry: bool) -> Callable[[Job], Awaitable[DeliveryResult]]:
    async def deliver(_job: Job) -> DeliveryResult:
        return DeliveryResult(ok=False, provider="fake", retry=retry, detail="gateway said no")

    return deliver


async def raising(_job: Job) -> DeliveryResult:
    raise ConnectionError("boom")


@pytest.mark.usefixtures("sms_queued")
def test_failures_back_off_then_go_dead(runtime: Runtime, clock: FrozenClock) -> None:
    s = runtime.settings
    for attempt in range(1, s.outbox_max_attempts + 1):
        assert run_once(runtime, failing(retry=True)) == 1, attempt
        [job] = runtime.run(jobs.list_jobs)
        assert job["attempts"] == attempt
        assert job["last_error"] == "fake: gateway said no"
        if attempt < s.outbox_max_attempts:
            assert job["status"] == "pending"
            assert run_once(runtime, failing(retry=True)) == 0  # not due yet
            clock.advance(s.outbox_backoff_max_seconds * 1.5 + 1)
    [job] = runtime.run(jobs.list_jobs)
    assert job["status"] == "dead"
    clock.advance(10**6)
    assert run_once(runtime, failing(retry=True)) == 0


@pytest.mark.usefixtures("sms_queued")
def test_permanent_failures_go_dead_at_once(runtime: Runtime) -> None:
    run_once(runtime, failing(retry=False))
    [job] = runtime.run(jobs.list_jobs)
    assert (job["status"], job["attempts"]) == ("dead", 1)


@pytest.mark.usefixtures("sms_queued")
def test_exceptions_in_delivery_are_retried(runtime: Runtime, clock: FrozenClock) -> None:
    run_once(runtime, raising)
    [job] = runtime.run(jobs.list_jobs)
    assert (job["status"], job["last_error"]) == ("pending", "error: ConnectionError")
    clock.advance(60)
    assert run_once(runtime, Dispatcher(runtime)) == 1
    assert runtime.run(jobs.list_jobs)[0]["status"] == "done"


@pytest.mark.usefixtures("sms_queued")
def test_a_dead_job_can_be_retried_from_the_cli(
    runtime: Runtime,
    clock: FrozenClock,
    database_url: str,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_once(runtime, failing(retry=False))
    job_id = runtime.run(jobs.list_jobs)[0]["id"]
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", database_url)
    monkeypatch.setenv("TWOSTEP_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["outbox", "retry", str(job_id)])
    assert result.exit_code == 0, result.output
    clock.set(time.time() + 1)  # the CLI queued it for "now" on the real clock
    assert run_once(runtime, Dispatcher(runtime)) == 1
    listed = CliRunner().invoke(cli, ["outbox", "list", "--to", "+12015550123", "--json"])
    assert '"code"' in listed.output
    again = CliRunner().invoke(cli, ["outbox", "retry", str(job_id)])
    assert again.exit_code != 0


def test_delivered_payloads_are_erased(
    runtime: Runtime, sms_queued: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy import select

    from twostep.store.schema import outbox

    stored = runtime.run(lambda tx: tx.conn.execute(select(outbox.c.payload)).scalar_one())
    assert stored.startswith("v1.")  # sealed while waiting
    run_once(runtime, Dispatcher(runtime))
    assert runtime.run(lambda tx: tx.conn.execute(select(outbox.c.payload)).scalar_one()) == ""


def test_backoff_grows_with_jitter_and_a_cap() -> None:
    backoff = Backoff(base_seconds=2, max_seconds=60, max_attempts=5)
    rng = random.Random(7)
    delays = [backoff.delay(n, rng) for n in range(1, 8)]
    for n, delay in enumerate(delays, start=1):
        nominal = min(60, 2 * 2 ** (n - 1))
        assert 0.5 * nominal <= delay < 1.5 * nominal
    assert len({round(backoff.delay(3), 6) for _ in range(20)}) > 1
    assert not backoff.exhausted(4)
    assert backoff.exhausted(5)


@pytest.mark.usefixtures("sms_queued")
def test_admin_api_shows_messages_and_jobs(client: TestClient, runtime: Runtime) -> None:
    run_once(runtime, Dispatcher(runtime))
    auth = {"Authorization": f"Bearer {runtime.admin_token}"}
    messages = client.get("/admin/outbox/messages", params={"to": "+12015550123"}, headers=auth)
    assert messages.status_code == 200
    [message] = messages.json()["messages"]
    assert message["code"] in message["body"]
    queue = client.get("/admin/outbox/jobs", params={"status": "done"}, headers=auth).json()
    assert [j["status"] for j in queue["jobs"]] == ["done"]
    assert "payload" not in queue["jobs"][0]
    assert_error(client.get("/admin/outbox/messages"), 401, "60001")
    assert_error(
        client.get("/admin/outbox/messages", headers={"Authorization": "Bearer nope"}), 401, "60001"
    )
    assert_error(
        client.get("/admin/outbox/jobs", params={"status": "x"}, headers=auth), 400, "60004"
    )


@pytest.mark.usefixtures("sms_queued")
def test_every_attempt_is_recorded(runtime: Runtime, clock: FrozenClock) -> None:
    from twostep.services import attempts

    run_once(runtime, failing(retry=True))
    clock.advance(3600)
    run_once(runtime, Dispatcher(runtime))
    job_id = runtime.run(jobs.list_jobs)[0]["id"]
    history = runtime.run(lambda tx: attempts.for_job(tx, job_id))
    assert [(a.attempt, a.provider, a.ok, a.detail) for a in history] == [
        (1, "fake", False, "gateway said no"),
        (2, "outbox", True, None),
    ]
    assert all(a.duration_ms >= 0 for a in history)


@pytest.mark.usefixtures("sms_queued")
def test_a_database_failure_while_recording_does_not_stop_the_worker(
    runtime: Runtime, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise ConnectionError("database went away")

    monkeypatch.setattr(Worker, "_record", lambda *_a: broken())
    assert run_once(runtime, Dispatcher(runtime)) == 1  # no exception escapes the loop
    monkeypatch.undo()
    assert runtime.run(jobs.list_jobs)[0]["status"] == "pending"  # still leased, not lost
    clock.advance(runtime.settings.outbox_lease_seconds + 1)
    assert run_once(runtime, Dispatcher(runtime)) == 1
    assert runtime.run(jobs.list_jobs)[0]["status"] == "done"

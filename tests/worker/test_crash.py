"""Nothing queued is lost: a job survives a crash of the server between commit and delivery, and a
worker that dies holding a job only delays it. Real processes, killed with SIGKILL."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, make_runtime, make_settings, new_app
from twostep.services import jobs, users
from twostep.services.runtime import Runtime

pytestmark = pytest.mark.slow


def wait_for(condition: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


@pytest.fixture
def rt(database_url: str, tmp_path: Path) -> Runtime:
    runtime = make_runtime(make_settings(database_url, tmp_path))
    yield runtime
    runtime.db.dispose()


def messages_to(rt: Runtime, number: str) -> list[jobs.DevMessage]:
    return rt.run(lambda tx: jobs.dev_messages(tx, number), write=False)


def test_a_job_committed_before_a_crash_is_delivered_once_after_restart(
    rt: Runtime, database_url: str, tmp_path: Path
) -> None:
    _app, key = new_app(rt)
    with ServerProcess(database_url, tmp_path, "--no-worker") as server:
        server.wait_ready()
        created = httpx.post(
            f"{server.url}/protected/json/users/new",
            json={
                "user": {"email": "k@example.com", "cellphone": "2015550123", "country_code": 1},
                "send_install_link_via_sms": False,
            },
            headers={"X-Authy-API-Key": key},
        ).json()
        authy_id = created["user"]["id"]
        sent = httpx.get(
            f"{server.url}/protected/json/sms/{authy_id}", headers={"X-Authy-API-Key": key}
        )
        assert sent.status_code == 200
        server.kill()  # the request committed; nothing has delivered the message yet
    assert messages_to(rt, "+12015550123") == []

    with ServerProcess(database_url, tmp_path, command="worker") as worker:
        wait_for(lambda: len(messages_to(rt, "+12015550123")) == 1)
        time.sleep(1.0)  # give a duplicate delivery the chance to happen
        assert worker.stop() == 0
    [message] = messages_to(rt, "+12015550123")
    assert message.code is not None
    assert rt.run(jobs.list_jobs, write=False)[0]["status"] == "done"


def test_a_job_held_by_a_dead_worker_is_delivered_after_its_lease(
    rt: Runtime, database_url: str, tmp_path: Path
) -> None:
    app, _key = new_app(rt)
    rt.run(
        lambda tx: users.register(
            tx,
            app,
            email="l@example.com",
            country_code=1,
            cellphone="2015550134",
            send_install_link=True,
        )
    )
    # A worker claims the job with a short lease and then dies without finishing it.
    short = replace(rt, settings=rt.settings.model_copy(update={"outbox_lease_seconds": 3}))
    [held] = jobs.claim(short, 10)
    assert held.attempts == 1
    assert jobs.claim(rt, 10) == []  # leased: nobody else takes it meanwhile

    with ServerProcess(database_url, tmp_path, command="worker") as worker:
        wait_for(lambda: len(messages_to(rt, "+12015550134")) == 1)
        time.sleep(1.0)
        assert worker.stop() == 0
    [message] = messages_to(rt, "+12015550134")
    assert message.idempotency_key == held.idempotency_key
    [job] = rt.run(jobs.list_jobs, write=False)
    assert (job["status"], job["attempts"]) == ("done", 2)

"""Scale-out: three ``twostep serve`` nodes and two ``twostep worker`` processes on one PostgreSQL
database share rate limits, replay protection, long polls and the outbox correctly."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.onetouch_support import answer, keyed_device
from tests.support import ServerProcess, Templates, make_runtime, make_settings, new_app
from twostep.core import otp
from twostep.services import jobs, users

pytestmark = pytest.mark.slow


class Cluster:
    def __init__(self, database_url: str, workdir: Path, env: dict[str, str]) -> None:
        self.api = [ServerProcess(database_url, workdir, "--no-worker", env=env) for _ in range(3)]
        self.workers = [
            ServerProcess(database_url, workdir, command="worker", env=env) for _ in range(2)
        ]
        for node in self.api:
            node.wait_ready()
        overrides = (
            {"redis_url": env["TWOSTEP_REDIS_URL"], "redis_prefix": env["TWOSTEP_REDIS_PREFIX"]}
            if env
            else {}
        )
        self.rt = make_runtime(make_settings(database_url, workdir, **overrides))

    def url(self, i: int) -> str:
        return self.api[i % len(self.api)].url

    def close(self) -> None:
        self.rt.db.dispose()
        for process in [*self.api, *self.workers]:
            assert process.stop() == 0, process.log.read_text()


@pytest.fixture(params=["postgresql", "postgresql+redis"])
def cluster(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[Cluster]:
    """PostgreSQL only: nodes on several hosts share a database server (SQLite is one node; its
    multi-process behaviour is covered by the concurrency and crash tests). With Redis, rate
    limits and wake-ups go through Redis instead of the database."""
    env: dict[str, str] = {}
    if request.param.endswith("redis"):
        env = {
            "TWOSTEP_REDIS_URL": "redis://127.0.0.1:6379/0",
            "TWOSTEP_REDIS_PREFIX": f"twostep-test-{uuid.uuid4().hex[:12]}:",
        }
    with templates.copy("postgresql", tmp_path) as database_url:
        running = Cluster(database_url, tmp_path, env)
        yield running
        running.close()


def register(cluster: Cluster, key: str, phone: str, node: int = 0) -> int:
    response = httpx.post(
        f"{cluster.url(node)}/protected/json/users/new",
        json={
            "user": {"email": "s@example.com", "cellphone": phone, "country_code": 1},
            "send_install_link_via_sms": False,
        },
        headers={"X-Authy-API-Key": key},
    )
    assert response.status_code == 200, response.text
    authy_id: int = response.json()["user"]["id"]
    return authy_id


def test_lockout_counts_failures_from_every_node(cluster: Cluster) -> None:
    _app, key = new_app(cluster.rt)
    user = register(cluster, key, "201-555-0101")
    limit = cluster.rt.settings.verify_fail_limit
    statuses = [
        httpx.get(
            f"{cluster.url(i)}/protected/json/verify/{1000000 + i}/{user}",
            headers={"X-Authy-API-Key": key},
        ).status_code
        for i in range(limit + 2)
    ]
    assert statuses == [401] * limit + [429, 429]


def test_a_token_accepted_on_one_node_is_a_replay_on_the_others(cluster: Cluster) -> None:
    app, key = new_app(cluster.rt)
    user = register(cluster, key, "201-555-0102")
    device = keyed_device(cluster.rt, user, app.id)
    token = otp.totp(device.seed, time.time(), step=10, digits=7)
    first = httpx.get(
        f"{cluster.url(0)}/protected/json/verify/{token}/{user}", headers={"X-Authy-API-Key": key}
    )
    assert first.status_code == 200
    for node in (1, 2):
        again = httpx.get(
            f"{cluster.url(node)}/protected/json/verify/{token}/{user}",
            headers={"X-Authy-API-Key": key},
        )
        assert again.json()["error_code"] == "60019"


def test_long_polls_wake_on_every_node(cluster: Cluster) -> None:
    app, key = new_app(cluster.rt)
    user = register(cluster, key, "201-555-0103")
    device = keyed_device(cluster.rt, user, app.id)
    created = httpx.post(
        f"{cluster.url(0)}/onetouch/json/users/{user}/approval_requests",
        json={"message": "Log in?"},
        headers={"X-Authy-API-Key": key},
    )
    uuid = created.json()["approval_request"]["uuid"]

    async def poll_everywhere() -> list[tuple[float, str]]:
        async with httpx.AsyncClient(timeout=40) as client:

            async def poll(node: int) -> tuple[float, str]:
                response = await client.get(
                    f"{cluster.url(node)}/onetouch/json/approval_requests/{uuid}",
                    params={"wait": 30},
                    headers={"X-Authy-API-Key": key},
                )
                return time.monotonic(), response.json()["approval_request"]["status"]

            polls = [asyncio.create_task(poll(node)) for node in range(3)]
            await asyncio.sleep(1.0)  # the polls are waiting
            await asyncio.to_thread(answer, cluster.rt, device, uuid, "approved")
            answered = time.monotonic()
            return [(at - answered, status) for at, status in await asyncio.gather(*polls)]

    for delay, status in asyncio.run(poll_everywhere()):
        assert status == "approved"
        assert delay < 3.0  # NOTIFY wakes them; the 30 s wait is not what ended them


def test_two_workers_drain_the_outbox_exactly_once(cluster: Cluster) -> None:
    app, key = new_app(cluster.rt)
    people = [
        cluster.rt.run(
            lambda tx, i=i: users.register(
                tx, app, email=f"o{i}@example.com", country_code=1, cellphone=f"2015550{i:03d}"
            )
        )
        for i in range(120, 180)
    ]

    async def request_all() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            sent = [
                client.get(
                    f"{cluster.url(i)}/protected/json/sms/{p.authy_id}",
                    headers={"X-Authy-API-Key": key},
                )
                for i, p in enumerate(people)
            ]
            return [r.status_code for r in await asyncio.gather(*sent)]

    assert set(asyncio.run(request_all())) == {200}
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        queue = cluster.rt.run(lambda tx: jobs.list_jobs(tx, kind="sms", limit=1000), write=False)
        if len(queue) == len(people) and all(j["status"] == "done" for j in queue):
            break
        time.sleep(0.2)
    else:
        pytest.fail("the workers did not deliver everything in time")
    messages = cluster.rt.run(lambda tx: jobs.dev_messages(tx, None, 1000), write=False)
    keys = [m.idempotency_key for m in messages]
    assert len(keys) == len(people) == len(set(keys))
    assert all(j["attempts"] == 1 for j in queue)  # SKIP LOCKED: no job was claimed twice

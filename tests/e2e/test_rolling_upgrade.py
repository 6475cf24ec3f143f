"""A rolling upgrade with zero failed requests: two production-mode API nodes behind a load balancer
that, like HAProxy's ``redispatch`` or nginx's ``proxy_next_upstream error``, sends a request that
could not connect to the other node. An expand-only schema change (a new nullable column and a
revision this release does not know) is applied while the old nodes serve; then each node is
stopped gracefully (SIGTERM: in-flight requests finish) and started again, one at a time, under
steady client traffic."""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from tests.support import ServerProcess, Templates, make_runtime, make_settings, new_app
from twostep.services.runtime import Runtime

pytestmark = pytest.mark.slow

PRODUCTION = {
    "TWOSTEP_MODE": "production",
    "TWOSTEP_PUBLIC_URL": "https://twostep.test",
    "TWOSTEP_ADMIN_TOKEN": "a" * 40,
    "TWOSTEP_WORKERS": "1",
}


class Balancer:
    """Round-robin over the nodes; a request goes to the next node when it cannot connect, or when
    the node closes or resets the new connection without answering (HAProxy's ``retry-on
    conn-failure empty-response``): a stopping uvicorn closes connections whose request it has not
    begun to read and the kernel resets those still in the listen backlog, so such a request was
    never handled. One connection per request. Production balancers
    also take a stopping node out first (the Helm chart's preStop delay, deployment.md)."""

    def __init__(self, nodes: list[ServerProcess]) -> None:
        self.nodes = nodes
        self.turn = itertools.count()
        self.redispatched = 0  # requests that went to another node because one was down
        self.client = httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0))

    def request(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        first = next(self.turn)
        for attempt in range(len(self.nodes) * 3):
            node = self.nodes[(first + attempt) % len(self.nodes)]
            try:
                return self.client.request(method, f"{node.url}{path}", **kwargs)  # type: ignore[arg-type]
            except httpx.ConnectError:
                self.redispatched += 1
                time.sleep(0.02)
            except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not _never_answered(exc):
                    raise
                self.redispatched += 1
                time.sleep(0.02)
        raise RuntimeError("no node accepted the connection")


def _never_answered(exc: httpx.HTTPError) -> bool:
    """Closed (or reset, if it was still in the listen backlog) before any byte of a response."""
    text = str(exc)
    return "without sending a response" in text or "Connection reset by peer" in text


class Traffic(threading.Thread):
    """Registers users, reads their status and verifies (wrong) tokens, without pause."""

    def __init__(self, balancer: Balancer, key: str) -> None:
        super().__init__(daemon=True)
        self.balancer, self.key = balancer, key
        self.stop = threading.Event()
        self.outcomes: Counter[str] = Counter()
        self.failures: list[str] = []

    def run(self) -> None:
        headers = {"X-Authy-API-Key": self.key}
        for n in itertools.count():
            if self.stop.is_set():
                return
            phone = f"2015551{n % 1000:03d}"
            try:
                created = self.balancer.request(
                    "POST",
                    "/protected/json/users/new",
                    headers=headers,
                    json={
                        "user": {
                            "email": f"r{n}@example.com",
                            "cellphone": phone,
                            "country_code": 1,
                        }
                    },
                )
                authy_id = created.json()["user"]["id"]
                status = self.balancer.request(
                    "GET", f"/protected/json/users/{authy_id}/status", headers=headers
                )
                verify = self.balancer.request(
                    "GET",
                    f"/protected/json/verify/{1000000 + n % 1000}/{authy_id}",
                    headers=headers,
                )
                for response, expected in ((created, 200), (status, 200), (verify, 401)):
                    self.outcomes[str(response.status_code)] += 1
                    if response.status_code not in (expected, 429):
                        self.failures.append(f"{response.status_code}: {response.text[:200]}")
            except Exception as exc:  # any failure is what this test is about
                self.failures.append(repr(exc))


def start(database_url: str, workdir: Path) -> ServerProcess:
    return ServerProcess(database_url, workdir, "--no-worker", env=PRODUCTION).wait_ready()


def restart(node: ServerProcess, database_url: str, workdir: Path) -> ServerProcess:
    node.stop()
    return start(database_url, workdir)


@pytest.fixture
def postgresql(templates: Templates, tmp_path: Path) -> Iterator[str]:
    with templates.copy("postgresql", tmp_path) as url:
        yield url


def expand_schema(rt: Runtime) -> None:
    """What a release N+1 migration may do while release N runs: add, never remove or rename."""

    def migrate(tx: object) -> None:
        conn = tx.conn  # type: ignore[attr-defined]
        conn.execute(text("ALTER TABLE applications ADD COLUMN upgrade_note TEXT"))
        conn.execute(text("UPDATE alembic_version SET version_num = '9000_rolling_upgrade_expand'"))

    rt.run(migrate)


def test_rolling_restart_under_traffic_loses_no_request(postgresql: str, tmp_path: Path) -> None:
    rt = make_runtime(make_settings(postgresql, tmp_path))
    _app, key = new_app(rt)
    nodes = [start(postgresql, tmp_path), start(postgresql, tmp_path)]
    balancer = Balancer(nodes)
    traffic = Traffic(balancer, key)
    traffic.start()
    try:
        time.sleep(2)
        expand_schema(rt)  # the old nodes keep serving on the expanded schema
        time.sleep(1)
        for i in range(len(nodes)):
            nodes[i] = restart(nodes[i], postgresql, tmp_path)  # "release N+1" comes up
            time.sleep(2)
        served_before_stop = sum(traffic.outcomes.values())
        time.sleep(1)
    finally:
        traffic.stop.set()
        traffic.join(timeout=30)
        for node in nodes:
            node.stop()
        rt.db.dispose()
    assert traffic.failures == []
    assert balancer.redispatched > 0  # nodes really were down while traffic flowed
    assert served_before_stop > 50
    assert sum(traffic.outcomes.values()) > served_before_stop  # traffic kept flowing to the end

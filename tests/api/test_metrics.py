"""Prometheus metrics: /metrics on the API (guarded), the metric families after real traffic,
deliveries recorded by the worker, the worker's own exposition and multi-process serving."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.factories import last_code
from tests.onetouch_support import answer, keyed_device
from tests.support import ServerProcess, free_port
from twostep.api.app import create_app
from twostep.clock import FrozenClock
from twostep.delivery.base import DeliveryResult
from twostep.services import approvals, health
from twostep.services.jobs import Job
from twostep.services.runtime import Runtime
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker

VERIFY_ROUTE = "/protected/{format}/verify/{token}/{authy_id}"
TOKEN = "m" * 40


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"metrics_enabled": True, "verify_fail_limit": 3}


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scrape(client: TestClient, **kwargs: Any) -> dict[str, list[Any]]:
    """Samples of every family, by family name."""
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


def sample(families: dict[str, list[Any]], family: str, name: str, **labels: str) -> float:
    for s in families[family]:
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
            return float(s.value)
    raise AssertionError(f"no sample {name} {labels}")


def with_settings(runtime: Runtime, **changes: Any) -> Runtime:
    return replace(runtime, settings=runtime.settings.model_copy(update=changes))


def test_metrics_are_off_by_default(runtime: Runtime) -> None:
    client = TestClient(create_app(with_settings(runtime, metrics_enabled=False)))
    assert_error(client.get("/metrics"), 404, "60000", "Not found: GET /metrics")


def test_the_metrics_token_is_required_when_set(runtime: Runtime) -> None:
    client = TestClient(create_app(with_settings(runtime, metrics_token=SecretStr(TOKEN))))
    assert_error(client.get("/metrics"), 401, "60000")
    wrong = client.get("/metrics", headers={"Authorization": "Bearer " + "x" * 40})
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    scrape(client, headers={"Authorization": f"Bearer {TOKEN}"})


def test_families_after_traffic(
    client: TestClient, runtime: Runtime, test_app: Any, clock: FrozenClock
) -> None:
    app, key = test_app
    before = {
        r: value("twostep_verifications_total", result=r)
        for r in ("accepted", "invalid", "reused", "locked_out")
    }
    transitions = ("created", "approved", "denied", "expired")
    approvals_before = {
        t: value("twostep_approval_requests_total", transition=t) for t in transitions
    }
    limited_before = value("twostep_rate_limited_total", bucket="verify-fail")
    requests_before = value(
        "twostep_http_requests_total", method="GET", route=VERIFY_ROUTE, status="401"
    )

    user = register(client, key)
    assert client.get(f"/protected/json/sms/{user}", headers=headers(key)).status_code == 200
    code = last_code(runtime)
    verify = f"/protected/json/verify/{{}}/{user}"
    assert client.get(verify.format("0000001"), headers=headers(key)).status_code == 401
    assert client.get(verify.format(code), headers=headers(key)).status_code == 200
    assert client.get(verify.format(code), headers=headers(key)).status_code == 401  # reused
    assert client.get(verify.format("0000002"), headers=headers(key)).status_code == 401
    assert client.get(verify.format("0000003"), headers=headers(key)).status_code == 429

    device = keyed_device(runtime, user, app.id, push="ntfy:https://ntfy.example/t1")
    uuids = []
    for seconds in (0, 0, 30):
        response = client.post(
            f"/onetouch/json/users/{user}/approval_requests",
            json={"message": "Log in?", "seconds_to_expire": seconds},
            headers=headers(key),
        )
        assert response.status_code == 200, response.text
        uuids.append(response.json()["approval_request"]["uuid"])
    answer(runtime, device, uuids[0], "approved")
    answer(runtime, device, uuids[1], "denied")
    clock.advance(31)
    assert runtime.run(approvals.expire_due) == 1

    for result, delta in (("accepted", 1), ("invalid", 2), ("reused", 1), ("locked_out", 1)):
        assert value("twostep_verifications_total", result=result) == before[result] + delta
    for transition, delta in (("created", 3), ("approved", 1), ("denied", 1), ("expired", 1)):
        now = value("twostep_approval_requests_total", transition=transition)
        assert now == approvals_before[transition] + delta, transition
    assert value("twostep_rate_limited_total", bucket="verify-fail") == limited_before + 1

    families = scrape(client)
    got = sample(
        families,
        "twostep_http_requests",
        "twostep_http_requests_total",
        method="GET",
        route=VERIFY_ROUTE,
        status="401",
    )
    assert got == requests_before + 3
    assert (
        sample(
            families,
            "twostep_http_request_duration_seconds",
            "twostep_http_request_duration_seconds_count",
            route=VERIFY_ROUTE,
            status="200",
        )
        >= 1
    )
    assert sample(families, "twostep_database_up", "twostep_database_up") == 1
    assert sample(families, "twostep_outbox_pending", "twostep_outbox_pending", kind="sms") == 1
    assert sample(families, "twostep_outbox_pending", "twostep_outbox_pending", kind="push") == 3
    age = sample(
        families,
        "twostep_outbox_oldest_pending_age_seconds",
        "twostep_outbox_oldest_pending_age_seconds",
        kind="sms",
    )
    assert age == 31  # the frozen clock moved on since the code was queued
    assert sample(families, "twostep_workers_alive", "twostep_workers_alive") == 0
    assert (
        "twostep_worker_heartbeat_age_seconds" not in families
        or not families["twostep_worker_heartbeat_age_seconds"]
    )
    for secret in (key, code):
        assert secret not in str(families)

    delivered = value("twostep_deliveries_total", channel="sms", provider="outbox", result="ok")
    assert anyio.run(Worker(runtime, Dispatcher(runtime)).run_once) >= 4
    assert (
        value("twostep_deliveries_total", channel="sms", provider="outbox", result="ok")
        == delivered + 1
    )
    families = scrape(client)
    assert not families["twostep_outbox_pending"]  # all delivered
    assert (
        sample(
            families,
            "twostep_delivery_duration_seconds",
            "twostep_delivery_duration_seconds_count",
            channel="push",
            provider="outbox",
            result="ok",
        )
        >= 3
    )


def test_failed_deliveries_and_dead_jobs(
    client: TestClient, runtime: Runtime, app_key: str
) -> None:
    runtime = with_settings(runtime, outbox_max_attempts=1)

    async def refusing(_job: Job) -> DeliveryResult:
        return DeliveryResult(ok=False, provider="fake", retry=True, detail="no")

    dead_before = value("twostep_deliveries_total", channel="sms", provider="fake", result="dead")
    user = register(client, app_key)
    client.get(f"/protected/json/sms/{user}", headers=headers(app_key))
    assert anyio.run(Worker(runtime, refusing).run_once) == 1
    after = value("twostep_deliveries_total", channel="sms", provider="fake", result="dead")
    assert after == dead_before + 1
    families = scrape(client)
    assert sample(families, "twostep_outbox_dead", "twostep_outbox_dead", kind="sms") == 1
    # the callback series exist before the first callback, so alerts on them work at once
    callbacks = {
        s.labels["result"]
        for s in families["twostep_deliveries"]
        if s.labels.get("channel") == "callback"
    }
    assert callbacks == {"ok", "retry", "dead"}


def test_unmatched_paths_and_heartbeats_in_the_scrape(client: TestClient, runtime: Runtime) -> None:
    health.Heartbeat(runtime).beat(runtime)
    client.get("/protected/json/verify/1234567/99/extra")
    families = scrape(client)
    assert (
        sample(
            families,
            "twostep_http_requests",
            "twostep_http_requests_total",
            route="unmatched",
            status="404",
        )
        >= 1
    )
    assert "1234567" not in str(families)
    assert sample(families, "twostep_workers_alive", "twostep_workers_alive") == 1
    age = families["twostep_worker_heartbeat_age_seconds"][0].value
    assert age == 0


def test_a_database_failure_does_not_fail_the_scrape(
    client: TestClient, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    def down(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError("connection refused")

    monkeypatch.setattr(runtime, "run", down)
    families = scrape(client)
    assert sample(families, "twostep_database_up", "twostep_database_up") == 0
    assert "twostep_http_requests" in families


# --- processes ----------------------------------------------------------------------------------------


def poll(url: str, timeout: float = 30, **kwargs: Any) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return httpx.get(url, timeout=2, **kwargs)
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def families_of(response: httpx.Response) -> dict[str, list[Any]]:
    assert response.status_code == 200, response.text
    return {f.name: f.samples for f in text_string_to_metric_families(response.text)}


@pytest.mark.slow
def test_the_worker_serves_metrics(database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {"TWOSTEP_METRICS_TOKEN": TOKEN}
    with ServerProcess(
        database_url, tmp_path, "--metrics-port", str(port), command="worker", env=env
    ) as worker:
        url = f"http://127.0.0.1:{port}"
        assert poll(f"{url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{url}/metrics").status_code == 401
        auth = {"Authorization": f"Bearer {TOKEN}"}
        deadline = time.monotonic() + 15
        while True:  # the worker's first heartbeat
            families = families_of(httpx.get(f"{url}/metrics", headers=auth))
            if families["twostep_workers_alive"][0].value >= 1:
                break
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert "twostep_deliveries" in families
        assert "twostep_outbox_pending" in families
        assert worker.stop() == 0


@pytest.mark.slow
def test_serve_with_several_processes_sums_their_metrics(database_url: str, tmp_path: Path) -> None:
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_999999.db").write_bytes(b"left over from an earlier run")
    env = {"TWOSTEP_METRICS_ENABLED": "true", "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    with ServerProcess(database_url, tmp_path, "--workers", "2", "--no-worker", env=env) as server:
        server.wait_ready()
        assert not (directory / "counter_999999.db").exists()
        for _ in range(30):
            assert httpx.get(f"{server.url}/readyz").status_code == 200  # new connection each
        seen = set()
        for _ in range(6):
            families = families_of(httpx.get(f"{server.url}/metrics"))
            seen.add(
                sample(
                    families,
                    "twostep_http_requests",
                    "twostep_http_requests_total",
                    route="/readyz",
                    status="200",
                )
            )
        assert seen == {30.0}  # every process answers with the sum of all
        pids = {p.name.rsplit("_", 1)[1] for p in directory.glob("counter_*.db")}
        assert len(pids) >= 2, pids
        assert server.stop() == 0

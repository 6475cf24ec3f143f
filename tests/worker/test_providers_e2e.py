"""Messages leave through real providers: the provider configuration is stored sealed, the worker
builds the failover route from it, and local fakes of Twilio and Vonage receive the requests over
real sockets."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.helpers import headers, register
from tests.delivery.fake_apis import TwilioApi, VonageApi
from tests.delivery.fakes import FakeHttp
from tests.support import TEST_MASTER_KEY
from twostep.cli.main import cli
from twostep.delivery.base import ConfigProblem
from twostep.services import jobs, providers
from twostep.services.runtime import Runtime
from twostep.store.schema import provider_configs
from twostep.worker.setup import build_worker

SID, TOKEN = "AC" + "2" * 32, "twilio-secret-token-0001"


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"sms_providers": ["vonage", "twilio"], "voice_providers": ["twilio"]}


@pytest.fixture
def twilio() -> Iterator[FakeHttp]:
    with FakeHttp(TwilioApi(SID, TOKEN)) as server:
        yield server


@pytest.fixture
def vonage() -> Iterator[FakeHttp]:
    # Vonage refuses our credentials: a provider-side failure, so the route fails over.
    with FakeHttp(VonageApi("right-key", "right-secret")) as server:
        yield server


def deliver_all(rt: Runtime) -> int:
    async def go() -> int:
        async with build_worker(rt) as worker:
            return await worker.run_once()

    return anyio.run(go)


def test_sms_fails_over_from_vonage_to_twilio_and_calls_go_to_twilio(
    client: TestClient, runtime: Runtime, app_key: str, twilio: FakeHttp, vonage: FakeHttp
) -> None:
    runtime.run(
        lambda tx: providers.configure(
            tx,
            "vonage",
            {
                "api_key": "wrong-key",
                "api_secret": "wrong-secret",
                "from_name": "TwoStep",
                "base_url": vonage.url,
            },
        )
    )
    runtime.run(
        lambda tx: providers.configure(
            tx,
            "twilio",
            {
                "account_sid": SID,
                "auth_token": TOKEN,
                "from_number": "+15005550006",
                "base_url": twilio.url,
            },
        )
    )
    user = register(client, app_key, "201-555-0123")
    client.get(f"/protected/json/sms/{user}", headers=headers(app_key))
    client.get(f"/protected/json/call/{user}", params={"locale": "de"}, headers=headers(app_key))
    assert deliver_all(runtime) == 2

    assert len(vonage.requests) == 1
    by_path = {r.path.rsplit("/", 1)[-1]: r.form() for r in twilio.requests}
    sms, call = by_path["Messages.json"], by_path["Calls.json"]
    assert sms["To"] == "+12015550123"
    assert sms["Body"].startswith("Your Test App verification code is: ")
    assert call["To"] == "+12015550123"
    assert 'language="de-DE"' in call["Twiml"]
    done = runtime.run(jobs.list_jobs)
    assert {(j["kind"], j["status"], j["provider"]) for j in done} == {
        ("sms", "done", "twilio"),
        ("voice", "done", "twilio"),
    }


def test_provider_credentials_are_sealed_at_rest_and_censored(runtime: Runtime) -> None:
    shown = runtime.run(
        lambda tx: providers.configure(
            tx, "twilio", {"account_sid": SID, "auth_token": TOKEN, "from_number": "+15005550006"}
        )
    )
    assert shown["auth_token"] == "__CENSORED__"
    stored = runtime.run(lambda tx: tx.conn.execute(select(provider_configs.c.config)).scalar_one())
    assert stored.startswith("v1.")
    assert TOKEN not in stored
    assert SID not in stored
    assert runtime.run(providers.configs)["twilio"]["auth_token"] == TOKEN
    with pytest.raises(ConfigProblem, match="account_sid"):
        runtime.run(
            lambda tx: providers.configure(tx, "twilio", {"from_number": "+1"}, replace=True)
        )
    with pytest.raises(ConfigProblem):
        runtime.run(lambda tx: providers.configure(tx, "nosuch", {}))


def test_providers_cli(
    runtime: Runtime, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", database_url)
    monkeypatch.setenv("TWOSTEP_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path))
    result = CliRunner().invoke(
        cli,
        [
            "providers",
            "set",
            "twilio",
            f"account_sid={SID}",
            f"auth_token={TOKEN}",
            "from_number=+15005550006",
        ],
    )
    assert result.exit_code == 0, result.output
    assert TOKEN not in result.output
    listed = json.loads(CliRunner().invoke(cli, ["providers", "list", "--json"]).output)
    twilio_entry = next(p for p in listed if p["name"] == "twilio")
    assert twilio_entry["configured"] is True
    assert twilio_entry["config"]["auth_token"] == "__CENSORED__"
    assert {"sms", "voice"} <= set(twilio_entry["channels"])
    bad = CliRunner().invoke(cli, ["providers", "set", "twilio", "colour=blue"])
    assert bad.exit_code != 0
    assert "unknown setting" in bad.output
    assert CliRunner().invoke(cli, ["providers", "delete", "twilio"]).exit_code == 0
    assert CliRunner().invoke(cli, ["providers", "delete", "twilio"]).exit_code != 0


def test_a_missing_provider_configuration_stops_the_worker_at_start(runtime: Runtime) -> None:
    with pytest.raises(ConfigProblem, match="vonage: api_key is required"):
        deliver_all(runtime)

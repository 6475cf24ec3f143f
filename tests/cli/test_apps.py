"""``twostep apps`` and ``twostep db`` against a real database, then the key used over HTTP."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers
from tests.support import TEST_MASTER_KEY, make_runtime
from twostep.api.app import create_app
from twostep.cli.main import cli
from twostep.config import Settings
from twostep.services.runtime import Runtime


@pytest.fixture
def cli_env(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWOSTEP_DATABASE_URL", database_url)
    monkeypatch.setenv("TWOSTEP_MASTER_KEY", TEST_MASTER_KEY)
    monkeypatch.setenv("TWOSTEP_DATA_DIR", str(tmp_path))


def run(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def fails(*args: str) -> str:
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code != 0
    return result.output


@pytest.fixture
def api_client(settings: Settings) -> Iterator[Callable[[], TestClient]]:
    runtimes: list[Runtime] = []

    def make() -> TestClient:
        runtimes.append(make_runtime(settings))
        return TestClient(create_app(runtimes[-1]), raise_server_exceptions=False)

    yield make
    for rt in runtimes:
        rt.db.dispose()


@pytest.mark.usefixtures("cli_env")
def test_create_prints_an_id_and_a_working_key(api_client: Callable[[], TestClient]) -> None:
    created = json.loads(run("apps", "create", "Acme Bank", "--json"))
    assert isinstance(created["app_id"], int)
    assert len(created["api_key"]) == 32
    client = api_client()
    response = client.get("/protected/json/users/1/status", headers=headers(created["api_key"]))
    assert_error(response, 404, "60026")  # authenticated: the user simply does not exist
    text = run("apps", "create", "Second")
    assert "api_key:" in text
    assert "cannot be shown again" in text


@pytest.mark.usefixtures("cli_env")
def test_list_and_show() -> None:
    run("apps", "create", "One", "--json")
    run("apps", "create", "Two", "--json")
    listed = json.loads(run("apps", "list", "--json"))
    assert [a["name"] for a in listed] == ["One", "Two"]
    assert all("api_key" not in a for a in listed)
    assert "One" in run("apps", "list")
    shown = json.loads(run("apps", "show", "Two", "--json"))
    assert shown["token_length"] == 7
    assert shown["sms_enabled"] is True


@pytest.mark.usefixtures("cli_env")
def test_rotate_key_invalidates_the_old_one(api_client: Callable[[], TestClient]) -> None:
    created = json.loads(run("apps", "create", "Rotating", "--json"))
    rotated = json.loads(run("apps", "rotate-key", str(created["app_id"]), "--json"))
    assert rotated["api_key"] != created["api_key"]
    client = api_client()
    old = client.get("/protected/json/users/1/status", headers=headers(created["api_key"]))
    assert_error(old, 401, "60001")
    new = client.get("/protected/json/users/1/status", headers=headers(rotated["api_key"]))
    assert_error(new, 404, "60026")


@pytest.mark.usefixtures("cli_env")
def test_rotate_key_with_a_grace_period_keeps_the_old_key(
    api_client: Callable[[], TestClient],
) -> None:
    created = json.loads(run("apps", "create", "Graceful", "--json"))
    run("apps", "rotate-key", "Graceful", "--grace", "3600")
    client = api_client()
    old = client.get("/protected/json/users/1/status", headers=headers(created["api_key"]))
    assert_error(old, 404, "60026")


@pytest.mark.usefixtures("cli_env")
def test_set_validates_and_stores_settings() -> None:
    run("apps", "create", "Configurable", "--json")
    out = json.loads(
        run(
            "apps",
            "set",
            "Configurable",
            "sms_enabled=false",
            "phone_calls_enabled=0",
            "email_enabled=no",
            "onetouch_enabled=off",
            "token_length=8",
            "onetouch_callback_url=https://example.com/cb",
            "onetouch_callback_method=get",
            "generic_tokens_enabled=false",
            "plan=starter",
            "name=Renamed",
            "--json",
        )
    )
    assert out["name"] == "Renamed"
    assert (out["sms_enabled"], out["phone_calls_enabled"], out["email_enabled"]) == (
        False,
        False,
        False,
    )
    assert out["onetouch_enabled"] is False
    assert out["token_length"] == 8
    assert out["onetouch_callback_url"] == "https://example.com/cb"
    assert out["onetouch_callback_method"] == "GET"
    assert out["generic_tokens_enabled"] is False
    assert out["plan"] == "starter"
    assert "between 6 and 10" in fails("apps", "set", "Renamed", "token_length=5")
    assert "unknown setting" in fails("apps", "set", "Renamed", "colour=blue")
    assert "is not KEY=VALUE" in fails("apps", "set", "Renamed", "plan")
    assert "must be one of" in fails("apps", "set", "Renamed", "onetouch_callback_method=PUT")
    assert "http(s)" in fails("apps", "set", "Renamed", "onetouch_callback_url=ftp://x")
    assert "true or false" in fails("apps", "set", "Renamed", "sms_enabled=maybe")
    assert "no application" in fails("apps", "set", "Missing", "plan=x")


@pytest.mark.usefixtures("cli_env")
def test_db_commands() -> None:
    assert "current" in run("db", "check")
    assert "database:" in run("db", "current")
    assert "revision" in run("db", "upgrade")

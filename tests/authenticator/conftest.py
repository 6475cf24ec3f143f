"""The authenticator's command line against a live server (a real socket, the system clock) on
SQLite and PostgreSQL. A person types the PIN: ``Typing`` feeds the command's standard input line
by line, each line produced only when the command reads it (so the PIN can be read from the
outbox after the command asked the server to send it)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from tests.api.helpers import PHONES
from tests.factories import queued
from tests.support import LiveServer, free_port, new_app
from twostep.api.app import create_app
from twostep.cli.main import cli
from twostep.clock import SystemClock
from twostep.services.runtime import Runtime

PHONE = "+1" + PHONES[0].replace("-", "")  # +12015550123
Line = str | Callable[[], str]


@pytest.fixture
def clock() -> SystemClock:  # type: ignore[override]
    return SystemClock()


@pytest.fixture
def live_port() -> int:
    return free_port()


@pytest.fixture
def settings_overrides(live_port: int) -> dict[str, object]:
    return {"public_url": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def live(runtime: Runtime, live_port: int) -> Iterator[LiveServer]:
    with LiveServer(create_app(runtime), port=live_port) as server:
        yield server


class Typing(io.RawIOBase):
    """Standard input typed on demand: each item is a line, or a function giving it when read."""

    def __init__(self, lines: list[Line]) -> None:
        self.lines = list(lines)
        self.pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self.pending:
            if not self.lines:
                return 0
            item = self.lines.pop(0)
            self.pending = ((item() if callable(item) else item) + "\n").encode()
        size = min(len(buffer), len(self.pending))
        buffer[:size] = self.pending[:size]
        self.pending = self.pending[size:]
        return size


def new_pin(runtime: Runtime, to: str = PHONE, timeout: float = 10.0) -> Callable[[], str]:
    """A function that waits for the next device PIN sent to ``to`` and returns it."""
    before = len(pins(runtime, to))

    def read() -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = pins(runtime, to)
            if len(found) > before:
                return found[-1]
            time.sleep(0.05)
        raise AssertionError(f"no PIN sent to {to}")

    return read


def pins(runtime: Runtime, to: str) -> list[str]:
    return [str(p["code"]) for p in queued(runtime, "sms") if p.get("to") == to and p.get("code")]


@dataclass
class Auth:
    """Runs ``twostep authenticator …`` on one state file."""

    state: Path
    server: str

    def run(self, *args: str, typed: list[Line] | None = None, ok: bool = True) -> Result:
        stdin = io.BufferedReader(Typing(typed or []))
        result = CliRunner().invoke(
            cli, ["authenticator", *args, "--state", str(self.state)], input=stdin
        )
        if ok:
            assert result.exit_code == 0, (result.output, result.exception)
        else:
            assert result.exit_code != 0, result.output
        return result

    def json(self, *args: str) -> Any:
        return json.loads(self.run(*args, "--json").stdout)

    def enroll(self, runtime: Runtime, phone: str = PHONE, *extra: str) -> Result:
        return self.run(
            "enroll",
            "--server",
            self.server,
            "--phone",
            phone,
            *extra,
            typed=[new_pin(runtime, phone)],
        )

    def saved(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.state.read_text())
        return data


@pytest.fixture
def auth(live: LiveServer, tmp_path: Path) -> Auth:
    return Auth(tmp_path / "device" / "authenticator.json", live.url)


@pytest.fixture
def http(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url, timeout=10) as client:
        yield client


@dataclass
class Customer:
    """A customer application speaking the Authy API to the live server."""

    http: httpx.Client
    key: str
    app_id: int

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Authy-API-Key": self.key}

    def register(self, phone: str = PHONES[0], email: str = "ann@example.com") -> int:
        user = {"email": email, "cellphone": phone, "country_code": 1}
        made = self.http.post(
            "/protected/json/users/new",
            json={"user": user, "send_install_link_via_sms": False},
            headers=self.headers,
        )
        assert made.status_code == 200, made.text
        authy_id: int = made.json()["user"]["id"]
        return authy_id

    def ask(self, authy_id: int, message: str = "Log in?", **extra: Any) -> dict[str, Any]:
        made = self.http.post(
            f"/onetouch/json/users/{authy_id}/approval_requests",
            json={"message": message, **extra},
            headers=self.headers,
        )
        assert made.status_code == 200, made.text
        created: dict[str, Any] = made.json()["approval_request"]
        return created

    def status(self, uuid: str) -> str:
        got = self.http.get(f"/onetouch/json/approval_requests/{uuid}", headers=self.headers)
        assert got.status_code == 200, got.text
        status: str = got.json()["approval_request"]["status"]
        return status

    def verify(self, authy_id: int, code: str) -> httpx.Response:
        return self.http.get(f"/protected/json/verify/{code}/{authy_id}", headers=self.headers)


@pytest.fixture
def customer(runtime: Runtime, http: httpx.Client) -> Customer:
    app, key = new_app(runtime, "Acme Bank")
    return Customer(http, key, app.id)

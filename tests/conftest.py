"""Every storage-touching test runs twice: on SQLite and on PostgreSQL, each on a fresh copy of a
database built by the migrations, so tests never depend on each other or on order."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.support import Templates, make_runtime, make_settings, new_app
from twostep.api.app import create_app
from twostep.clock import FrozenClock
from twostep.config import Settings
from twostep.services.apps import App
from twostep.services.runtime import Runtime

START = 1_764_000_000.0  # 2025-11-24T16:00:00Z, a fixed instant for frozen clocks


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Templates]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    t = Templates(tmp_path_factory.mktemp("templates"), f"{worker}_{os.getpid()}")
    yield t
    t.drop()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, templates: Templates, tmp_path: Path
) -> Iterator[str]:
    with templates.copy(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    """Override in a test module to change settings for its tests."""
    return {}


@pytest.fixture
def settings(database_url: str, tmp_path: Path, settings_overrides: dict[str, object]) -> Settings:
    return make_settings(database_url, tmp_path, **settings_overrides)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def runtime(settings: Settings, clock: FrozenClock) -> Iterator[Runtime]:
    rt = make_runtime(settings, clock)
    yield rt
    rt.db.dispose()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime), raise_server_exceptions=False)


@pytest.fixture
def test_app(runtime: Runtime) -> tuple[App, str]:
    """A fresh application and its API key."""
    return new_app(runtime)


@pytest.fixture
def app_key(test_app: tuple[App, str]) -> str:
    return test_app[1]


@pytest.fixture
def app_id(test_app: tuple[App, str]) -> int:
    return test_app[0].id

"""Live servers for the real client libraries: a uvicorn server on a random port, system clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import LiveServer
from twostep.api.app import create_app
from twostep.clock import SystemClock
from twostep.services.runtime import Runtime


@pytest.fixture
def clock() -> SystemClock:  # type: ignore[override]
    return SystemClock()


@pytest.fixture
def live(runtime: Runtime) -> Iterator[LiveServer]:
    with LiveServer(create_app(runtime)) as server:
        yield server

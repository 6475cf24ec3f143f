"""Live servers for the real client libraries: a uvicorn server on a random port, system clock, the
outbox worker running inside it (as in ``twostep serve``), and a reader of what it "sent"."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support import LiveServer, free_port
from twostep.api.app import create_app
from twostep.clock import SystemClock
from twostep.services import jobs
from twostep.services.jobs import DevMessage
from twostep.services.runtime import Runtime
from twostep.worker.embedded import outbox_worker

DELIVERY_TIMEOUT = 10.0  # seconds for the worker to hand a queued message to the dev provider


@pytest.fixture
def clock() -> SystemClock:  # type: ignore[override]
    return SystemClock()


@pytest.fixture
def live_port() -> int:
    return free_port()


@pytest.fixture
def settings_overrides(live_port: int) -> dict[str, object]:
    # Links the server hands out (QR codes) must point at where it really listens.
    return {"public_url": f"http://127.0.0.1:{live_port}"}


@pytest.fixture
def live(runtime: Runtime, live_port: int) -> Iterator[LiveServer]:
    with LiveServer(create_app(runtime, background=[outbox_worker]), port=live_port) as server:
        yield server


class Outbox:
    """What the development ("outbox") provider recorded, read the way a phone would see it."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen: set[int] = set()

    def messages(self, to: str) -> list[DevMessage]:
        """Everything recorded for ``to``, oldest first."""
        return list(reversed(self.runtime.run(lambda tx: jobs.dev_messages(tx, to))))

    def next_message(self, to: str, channel: str = "sms", *, code: bool = True) -> DevMessage:
        """The oldest message on ``channel`` (with a code, or without one: install links) not
        returned before; waits for it, since the worker delivers after the request."""
        deadline = time.monotonic() + DELIVERY_TIMEOUT
        while True:
            for m in self.messages(to):
                if m.id not in self.seen and m.channel == channel and bool(m.code) is code:
                    self.seen.add(m.id)
                    return m
            if time.monotonic() > deadline:
                got = [(m.channel, m.code) for m in self.messages(to)]
                raise AssertionError(f"no new {channel} message for {to} (recorded: {got})")
            time.sleep(0.05)

    def next_code(self, to: str, channel: str = "sms") -> str:
        """The code of the next message with a code on ``channel``."""
        code = self.next_message(to, channel).code
        assert code is not None
        return code


@pytest.fixture
def outbox(runtime: Runtime) -> Outbox:
    return Outbox(runtime)

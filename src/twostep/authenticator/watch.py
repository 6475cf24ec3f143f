"""Following the device's event stream (§4): Server-Sent Events parsing, and a loop that hands each
event to a handler and reconnects, with a fresh signature, whenever the stream ends or breaks."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from twostep.authenticator.client import DeviceClient, Json, ServerError, Unreachable

DEFAULT_RETRY_SECONDS = 3.0
MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ServerEvent:
    name: str
    data: Json


def parse(lines: Iterable[str], on_retry: Callable[[float], None]) -> Iterator[ServerEvent]:
    """Events from the stream's lines (the SSE rules this protocol uses: ``event``, ``data``,
    ``retry``, comments). Data that is not a JSON object is skipped."""
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                try:
                    value = json.loads("\n".join(data))
                except ValueError:
                    value = None
                if isinstance(value, dict):
                    yield ServerEvent(name, value)
            name, data = "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value_text = line.partition(":")
        value_text = value_text.removeprefix(" ")
        if field == "event":
            name = value_text
        elif field == "data":
            data.append(value_text)
        elif field == "retry" and value_text.isdigit():
            on_retry(int(value_text) / 1000)


Handler = Callable[[ServerEvent], bool]  # True: stop watching
Notice = Callable[[str], None]


class Watch:
    """Follow the stream until the handler asks to stop. Ends of the stream and network failures
    lead to a reconnection after the server's ``retry`` delay (longer after repeated failures); a
    refusal (a revoked device, a bad signature) ends the watch with its ``ServerError``."""

    def __init__(
        self,
        client: DeviceClient,
        handler: Handler,
        notice: Notice,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.handler = handler
        self.notice = notice
        self.sleep = sleep
        self.retry = DEFAULT_RETRY_SECONDS

    def _set_retry(self, seconds: float) -> None:
        self.retry = min(max(seconds, 0.1), MAX_BACKOFF_SECONDS)

    def run(self) -> None:
        failures = 0
        while True:
            try:
                with self.client.stream() as response:
                    self.notice("connected; waiting for approval requests (Ctrl-C stops)")
                    failures = 0
                    for event in parse(response.iter_lines(), self._set_retry):
                        if self.handler(event):
                            return
                reason = "the server ended the stream"
            except Unreachable as exc:
                failures += 1
                reason = str(exc)
            except ServerError as exc:
                if exc.status < 500 and exc.status != 429:
                    raise
                failures += 1
                reason = str(exc)
            delay = min(self.retry * 2 ** max(failures - 1, 0), MAX_BACKOFF_SECONDS)
            self.notice(f"{reason}; reconnecting in {delay:g} s")
            self.sleep(delay)

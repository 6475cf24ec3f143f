"""End-to-end OneTouch latency: from the device's answer (sent to the API) to the customer's
callback received by a local HTTP receiver, through the outbox and a ``twostep worker``."""

from __future__ import annotations

import asyncio
import threading
import time
from array import array
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson

from bench.loadgen import Result
from bench.scenarios import signed_answer


class Receiver:
    """The customer's callback endpoint: records when each approval's callback arrived."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.signal = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                uuid = orjson.loads(body).get("uuid", "")
                with receiver.signal:
                    receiver.arrived[uuid] = time.perf_counter()
                    receiver.signal.notify_all()
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/callback"

    def wait_for(self, uuid: str, timeout: float = 30) -> float | None:
        with self.signal:
            self.signal.wait_for(lambda: uuid in self.arrived, timeout)
            return self.arrived.get(uuid)

    def close(self) -> None:
        self.server.shutdown()


async def measure(
    api_url: str,
    pending: list[tuple[str, str, str]],
    key: object,
    receiver: Receiver,
    concurrency: int = 4,
) -> Result:
    """Answer each pending request and time until its callback arrives."""
    out = Result(0, 0.0, Counter(), array("d"))
    queue = list(pending)
    started = time.perf_counter()

    async def one(client: httpx.AsyncClient) -> None:
        while queue:
            item = queue.pop()
            path, headers, body = signed_answer(*item, key)
            sent = time.perf_counter()
            response = await client.post(api_url + path, content=body, headers=headers)
            out.statuses[response.status_code] += 1
            arrived = await asyncio.to_thread(receiver.wait_for, item[1])
            if arrived is not None:
                out.latencies.append(arrived - sent)
                out.requests += 1

    async with httpx.AsyncClient(timeout=30) as client:
        await asyncio.gather(*(one(client) for _ in range(concurrency)))
    out.seconds = time.perf_counter() - started
    return out

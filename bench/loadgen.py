"""A small HTTP/1.1 load generator: N keep-alive connections on one event loop, each request
pre-rendered and used once, latency of every request recorded. Good for ~20k requests/s on one
core, several times what the server under test can do, so the client is not the bottleneck."""

from __future__ import annotations

import asyncio
import itertools
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Result:
    requests: int
    seconds: float
    statuses: Counter[int]
    latencies: array[float] = field(repr=False)
    errors: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency in milliseconds at percentile ``p`` (0-100)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def combined(self, other: Result) -> Result:
        """Two runs of the same load as one (their requests, time and latencies together)."""
        return Result(
            self.requests + other.requests,
            self.seconds + other.seconds,
            self.statuses + other.statuses,
            self.latencies + other.latencies,
            self.errors + other.errors,
        )

    def summary(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rate, 1),
            "p50_ms": round(self.percentile(50), 2),
            "p99_ms": round(self.percentile(99), 2),
            "p999_ms": round(self.percentile(99.9), 2),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.errors,
        }


def render_get(path: str, headers: dict[str, str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: bench"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def render_post(path: str, headers: dict[str, str], body: bytes, content_type: str) -> bytes:
    lines = [
        f"POST {path} HTTP/1.1",
        "Host: bench",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
    ]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _connection(
    host: str,
    port: int,
    *,
    requests: itertools.count[int],
    payloads: Sequence[bytes],
    stop_at: float,
    record_from: float,
    out: Result,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    clock = time.perf_counter
    try:
        while True:
            index = next(requests)
            if index >= len(payloads) or clock() >= stop_at:
                return
            started = clock()
            writer.write(payloads[index])
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
                    break
            if length:
                await reader.readexactly(length)
            if started >= record_from:
                out.latencies.append(clock() - started)
                out.statuses[status] += 1
                out.requests += 1
    except (ConnectionError, asyncio.IncompleteReadError):
        out.errors += 1
    finally:
        writer.close()


async def run(
    host: str,
    port: int,
    payloads: Sequence[bytes],
    *,
    concurrency: int,
    seconds: float,
    warmup: float = 1.0,
) -> Result:
    """Send ``payloads`` (each once, in order) over ``concurrency`` connections for ``warmup``
    plus ``seconds`` seconds, or until they run out; only the part after the warm-up counts."""
    out = Result(0, 0.0, Counter(), array("d"))
    start = time.perf_counter()
    record_from = start + warmup
    stop_at = record_from + seconds
    counter = itertools.count()
    await asyncio.gather(
        *(
            _connection(
                host,
                port,
                requests=counter,
                payloads=payloads,
                stop_at=stop_at,
                record_from=record_from,
                out=out,
            )
            for _ in range(concurrency)
        )
    )
    out.seconds = max(1e-9, min(time.perf_counter(), stop_at) - record_from)
    return out

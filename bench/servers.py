"""Server processes for the benchmark, pinned to one core, with their resident memory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

SERVER_CORE = 0
CLIENT_CORE = 1


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def pin_client() -> None:
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {CLIENT_CORE})


class Server:
    def __init__(
        self, argv: list[str], env: dict[str, str], log: Path, ready_path: str | None
    ) -> None:
        self.port = free_port()
        self.ready_path = ready_path
        full = [*argv, "--port", str(self.port)] if ready_path is not None else list(argv)
        if (os.cpu_count() or 1) > 1:
            full = ["taskset", "-c", str(SERVER_CORE), *full]
        self._log = log.open("wb")
        self.process = subprocess.Popen(
            full, env={**os.environ, **env}, stdout=self._log, stderr=subprocess.STDOUT
        )
        if ready_path is not None:  # a worker process serves nothing to wait for
            self._wait_ready(log)

    def _wait_ready(self, log: Path) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited:\n{log.read_text()}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}{self.ready_path}", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError(f"server did not start:\n{log.read_text()}")

    def rss_bytes(self) -> int:
        """Resident memory of the server process and its children (uvicorn workers)."""
        total = 0
        pids = [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        for pid in pids:
            status = Path(f"/proc/{pid}/status")
            if status.exists():
                for line in status.read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if not self._log.closed:
            self._log.close()


def twostep(env: dict[str, str], log: Path, *extra: str) -> Server:
    return Server([sys.executable, "-m", "twostep", "serve", *extra], env, log, "/healthz")


def baseline(env: dict[str, str], log: Path, database_url: str) -> Server:
    return Server(
        [sys.executable, "-m", "bench.baseline", "--database-url", database_url], env, log, "/"
    )

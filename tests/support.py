"""Test helpers shared by the suites: databases built by migrations, runtimes, a live server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import uvicorn
from sqlalchemy.engine import make_url

from twostep.clock import Clock
from twostep.config import Settings
from twostep.core import crypto
from twostep.services import apps
from twostep.services.bootstrap import build_runtime
from twostep.services.keys import load_keyring
from twostep.services.runtime import Runtime
from twostep.store import migrate
from twostep.store.db import Database

PG_ADMIN_URL = os.environ.get("TWOSTEP_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
TEST_MASTER_KEY = crypto.format_master_key(b"\x07" * 32)


def pg_url(dbname: str) -> str:
    return str(make_url(PG_ADMIN_URL).set(database=dbname))


def pg_admin(sql: str) -> None:
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


def migrated(url: str) -> None:
    """Build the schema the way production does: migrations, then the first data keys."""
    db = Database(url)
    migrate.upgrade(db.engine)
    load_keyring(db, crypto.parse_master_key(TEST_MASTER_KEY))
    db.dispose()


class Templates:
    """One migrated template per database kind per test process; each test gets a copy."""

    def __init__(self, workdir: Path, tag: str) -> None:
        self.sqlite_file = workdir / "template.db"
        migrated(f"sqlite:///{self.sqlite_file}")
        self.pg_name = f"twostep_tmpl_{tag}"
        pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')
        pg_admin(f'CREATE DATABASE "{self.pg_name}"')
        migrated(pg_url(self.pg_name).replace("postgresql://", "postgresql+psycopg://"))

    @contextmanager
    def copy(self, kind: str, workdir: Path) -> Iterator[str]:
        if kind == "sqlite":
            target = workdir / "twostep.db"
            shutil.copyfile(self.sqlite_file, target)
            yield f"sqlite:///{target}"
            return
        name = f"twostep_t_{uuid.uuid4().hex[:16]}"
        pg_admin(f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_name}"')
        try:
            yield pg_url(name)
        finally:
            pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def drop(self) -> None:
        pg_admin(f'DROP DATABASE IF EXISTS "{self.pg_name}" WITH (FORCE)')


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "mode": "embedded",
        "database_url": database_url,
        "data_dir": data_dir,
        "master_key": TEST_MASTER_KEY,
        "db_pool_size": 4,
        **overrides,
    }
    return Settings(**values)


def make_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    return build_runtime(settings, clock=clock, migrate_schema=False)


def new_app(rt: Runtime, name: str = "Test App", **settings: str) -> tuple[apps.App, str]:
    app, key = rt.run(lambda tx: apps.create(tx, name))
    if settings:
        app = rt.run(lambda tx: apps.update_settings(tx, app, settings))
    return app, key


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LiveServer:
    """A real uvicorn server on a random port, in a thread, for the client-library tests."""

    def __init__(self, asgi_app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(
            asgi_app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            loop="asyncio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("live server did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


class ServerProcess:
    """A real ``twostep serve`` (or ``twostep worker``) process on the test's database."""

    def __init__(
        self,
        database_url: str,
        data_dir: Path,
        *args: str,
        command: str = "serve",
        env: dict[str, str] | None = None,
    ) -> None:
        import subprocess
        import sys

        self.port = free_port()
        self.command = command
        argv = [sys.executable, "-m", "twostep", command, *args]
        if command == "serve":
            argv += ["--port", str(self.port)]
        environment = {
            **os.environ,
            "TWOSTEP_DATABASE_URL": database_url,
            "TWOSTEP_MASTER_KEY": TEST_MASTER_KEY,
            "TWOSTEP_DATA_DIR": str(data_dir),
            "TWOSTEP_PUBLIC_URL": f"http://127.0.0.1:{self.port}",
            **(env or {}),
        }
        self.log = data_dir / f"{command}-{self.port}.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            argv, env=environment, stdout=self._log_file, stderr=subprocess.STDOUT
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = 30) -> ServerProcess:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command} exited early:\n{self.log.read_text()}")
            try:
                httpx.get(f"{self.url}/healthz", timeout=1)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.command} did not start:\n{self.log.read_text()}")

    def kill(self) -> None:
        """SIGKILL: no cleanup, no graceful shutdown — a crash."""
        self.process.kill()
        self.process.wait(timeout=10)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: a graceful stop."""
        import signal

        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log_file.close()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.kill()
        self._log_file.close()

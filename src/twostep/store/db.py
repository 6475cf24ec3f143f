"""Engine and transactions. The edge (a request or a job) opens one transaction; services run inside.

SQLite: WAL mode, ``BEGIN IMMEDIATE`` for transactions that write (so concurrent writers queue on the
busy timeout instead of failing to upgrade a read lock), a pool of connections. PostgreSQL: psycopg 3
with a pooled engine. Both use synchronous drivers: the API runs each unit of work in a worker thread
with a single hop, which measured faster than an async driver's hop per statement."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

_WRITE = "twostep_write"
_SQLITE_BUSY_RETRIES = 5


class Database:
    def __init__(self, url: str, *, pool_size: int = 16, busy_timeout_ms: int = 10_000) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url, pool_size, busy_timeout_ms)
        # SQLite has one writer at a time. Queueing this process's writers on a lock is far
        # cheaper than letting them collide on the file lock, where SQLite's busy handler sleeps
        # (up to 100 ms a time); the busy timeout is left for writers in other processes.
        self._writer = threading.Lock()

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        if self.is_sqlite and write:
            with self._writer, self.engine.connect() as raw:
                conn = raw.execution_options(**{_WRITE: True})
                with conn.begin():
                    yield conn
            return
        with self.engine.connect() as raw:
            conn = raw.execution_options(**{_WRITE: False}) if self.is_sqlite else raw
            with conn.begin():
                yield conn

    def run(self, fn: Any, *, write: bool = True) -> Any:
        """Run ``fn(conn)`` in a transaction, retrying SQLite's rare lock timeouts."""
        attempt = 0
        while True:
            try:
                with self.transaction(write=write) as conn:
                    return fn(conn)
            except OperationalError as exc:
                attempt += 1
                if not (self.is_sqlite and _is_locked(exc)) or attempt > _SQLITE_BUSY_RETRIES:
                    raise
                time.sleep(0.01 * attempt)

    def dispose(self) -> None:
        self.engine.dispose()


def _is_locked(exc: OperationalError) -> bool:
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text


def _make_engine(url: str, pool_size: int, busy_timeout_ms: int) -> Engine:
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; use a file")
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
        )
        _install_sqlite_hooks(engine, busy_timeout_ms)
        return engine
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
    )


def _install_sqlite_hooks(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module: we emit BEGIN ourselves below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(_WRITE, True)
        # straight to the driver: this runs for every transaction
        driver = conn.connection.dbapi_connection
        assert driver is not None
        driver.execute("BEGIN IMMEDIATE" if write else "BEGIN")

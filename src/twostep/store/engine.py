"""The SQLAlchemy engine for a database URL: SQLite in WAL mode with our own BEGIN (so that
transactions that write take the write lock at once), PostgreSQL with a pinged, recycled pool
(and held-back messages sent before any Core statement, store/batching.py);
JSON columns through orjson on both."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from twostep.store import raw


def make_engine(
    url: str, pool_size: int, busy_timeout_ms: int, writing: Callable[[], bool]
) -> Engine:
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            raise ValueError("an in-memory SQLite database cannot be shared; use a file")
        engine = create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
            **_JSON,
        )
        _install_sqlite_hooks(engine, busy_timeout_ms, writing)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_recycle=1800,
        **_JSON,
    )

    @event.listens_for(engine, "before_cursor_execute")
    def _before_core_statement(conn: Connection, *_: Any) -> None:
        # a batched transaction (store/batching.py) sends what it held back first
        raw.flush(conn)

    return engine


def _to_json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


# JSON columns through orjson: several times faster than the json module on every row that has one
_JSON: dict[str, Any] = {"json_serializer": _to_json, "json_deserializer": orjson.loads}


_SQLITE_CACHE_KIB = 32 * 1024  # per connection, filled only as pages are read


def _install_sqlite_hooks(
    engine: Engine, busy_timeout_ms: int, writing: Callable[[], bool]
) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module: we emit BEGIN ourselves below.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        # SQLite's default page cache is 2 MB a connection: a verification's random reads then
        # mostly come from the OS through system calls (docs/performance.md)
        cur.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # straight to the driver: this runs for every transaction
        driver = conn.connection.dbapi_connection
        assert driver is not None
        if driver.in_transaction:  # begun on the driver (Database._sqlite_transaction)
            return
        statement = "BEGIN IMMEDIATE" if writing() else "BEGIN"
        try:
            driver.execute(statement)
        except sqlite3.Error as exc:  # as SQLAlchemy raises the driver's errors elsewhere
            raise OperationalError(statement, None, exc) from exc

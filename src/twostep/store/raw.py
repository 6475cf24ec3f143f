"""Hand-written SQL for the hot path (authentication and verification run on every request).

SQLAlchemy Core costs 70-140 µs per statement in building, caching and result processing; the
driver's own cursor costs ~10 µs. These helpers run plain SQL on the driver connection *inside*
the SQLAlchemy transaction the edge opened, so transactions, pooling and every other query stay as
they are. Statements are written once with ``?`` placeholders and converted for psycopg."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import Connection

from twostep.store import batching, driver_errors


class Sql:
    """A statement with ``?`` placeholders (and ``%`` meaning itself), in each driver's form."""

    __slots__ = ("pg", "sqlite")

    def __init__(self, text: str) -> None:
        self.sqlite = text
        self.pg = text.replace("%", "%%").replace("?", "%s")

    def text(self, conn: Connection) -> str:
        return self.sqlite if conn.dialect.name == "sqlite" else self.pg


def execute(conn: Connection, sql: str, params: Any) -> Any:
    """Run ``sql`` on the driver connection behind ``conn``; the open cursor. Driver errors are
    raised as SQLAlchemy's (IntegrityError, OperationalError, ...) like any other statement's,
    and a connection the database dropped is invalidated so it is not used again. In a batched
    PostgreSQL transaction, it runs a statement prepared on the connection, with what was held
    back in front, in the same round trip (store/batching.py)."""
    driver: Any = conn.connection.dbapi_connection
    held = batching.pending(conn)
    cursor = None
    try:
        if held is not None:
            return batching.send_with(driver, held, sql, params)
        cursor = driver.cursor()
        cursor.execute(sql, params)
    except Exception as exc:  # noqa: BLE001 - raised again, translated (driver_errors.reraise)
        if cursor is not None:
            cursor.close()
        driver_errors.reraise(driver_errors.translated(conn, driver, exc, sql), exc)
    return cursor


def one(conn: Connection, sql: Sql, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
    cur = execute(conn, sql.text(conn), params)
    try:
        row: tuple[Any, ...] | None = cur.fetchone()
        return row
    finally:
        cur.close()


def many(conn: Connection, sql: Sql, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    cur = execute(conn, sql.text(conn), params)
    try:
        rows: list[tuple[Any, ...]] = cur.fetchall()
        return rows
    finally:
        cur.close()


def later(conn: Connection, sql: Sql, params: Sequence[Any] = ()) -> None:
    """A write whose result nobody reads: in a batched PostgreSQL transaction it is sent with
    the next statement or with COMMIT (store/batching.py), saving a round trip; elsewhere now.
    Its error, if any, fails the transaction there. Not for a write whose error the caller
    means to catch."""
    defer(conn, sql.text(conn), params)


def defer(conn: Connection, sql: str, params: Any) -> None:
    """``later`` for SQL already in the dialect's form (store/compiled.py)."""
    held = batching.pending(conn)
    if held is None:
        execute(conn, sql, params).close()
    else:
        held.writes.append((sql, params))


def flush(conn: Connection) -> None:
    """Send what the transaction held back (before a statement that does not go through here)."""
    held = batching.pending(conn)
    if held is not None and held.due():
        driver: Any = conn.connection.dbapi_connection
        try:
            batching.flush(driver, held)
        except Exception as exc:  # noqa: BLE001 - raised again, translated
            error = driver_errors.translated(conn, driver, exc, "(held-back writes)")
            driver_errors.reraise(error, exc)


def run(conn: Connection, sql: Sql, params: Sequence[Any] = ()) -> int:
    """Execute a write; the number of rows it touched."""
    cur = execute(conn, sql.text(conn), params)
    try:
        count: int = cur.rowcount
        return count
    finally:
        cur.close()


_savepoints = itertools.count(1)


@contextmanager
def savepoint(conn: Connection) -> Iterator[None]:
    """A savepoint in the open transaction: undone if the block raises, kept otherwise. Issued on
    the driver (SQLAlchemy's ``begin_nested`` costs ~250 µs a statement on the hot path). In a
    batched transaction its statements are held back like writes (store/batching.py): a
    ``SAVEPOINT`` not yet sent when the block ends was not needed — the block sent nothing, so
    on success its writes simply stay held and on failure they are dropped. As with ``later``, a
    held-back write's error surfaces where it is sent, which may be after the block."""
    name = f"twostep_{next(_savepoints)}"
    held = batching.pending(conn)
    if held is None:
        execute(conn, f"SAVEPOINT {name}", ()).close()
        try:
            yield
        except BaseException:
            execute(conn, f"ROLLBACK TO SAVEPOINT {name}", ()).close()
            execute(conn, f"RELEASE SAVEPOINT {name}", ()).close()
            raise
        execute(conn, f"RELEASE SAVEPOINT {name}", ()).close()
        return
    place = held.hold(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        index = held.unsent(place)
        if index is not None:
            del held.writes[index:]
        else:  # with the next statement: the transaction may be failed until this is sent
            held.hold(f"ROLLBACK TO SAVEPOINT {name}")
            held.hold(f"RELEASE SAVEPOINT {name}")
        raise
    index = held.unsent(place)
    if index is not None:
        del held.writes[index]
    else:
        held.hold(f"RELEASE SAVEPOINT {name}")


def ts(conn: Connection, value: datetime) -> Any:
    """A timestamp as the column stores it (types.UTCDateTime: on SQLite the text SQLAlchemy
    writes, ``YYYY-MM-DD HH:MM:SS.ffffff`` in UTC, which sorts in time order)."""
    if conn.dialect.name != "sqlite":
        return value
    return sqlite_text(value)


def sqlite_text(value: datetime) -> str:
    """How types.UTCDateTime stores an aware datetime on SQLite."""
    # One transaction passes its ``now`` several times: format it once. The pair is replaced
    # whole (threads share it) and holds the datetime, so an identical id means the same value.
    global _last_text  # noqa: PLW0603
    last = _last_text
    if last[0] is value:
        return last[1]
    if value.tzinfo is not UTC:  # the clock's datetimes are in UTC already
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat(" ", "microseconds")
    _last_text = (value, text)
    return text


_last_text: tuple[datetime | None, str] = (None, "")


def parse_ts(value: Any) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    parsed: datetime = value
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_json(value: Any) -> Any:
    """JSON columns come back parsed from psycopg and as text from sqlite3."""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


def as_bytes(value: Any) -> bytes:
    return bytes(value)  # psycopg returns memoryview-like bytes for bytea

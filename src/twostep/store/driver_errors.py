"""Errors of statements run on the driver (store/raw.py, store/batching.py), raised as SQLAlchemy
raises them for its own statements."""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError, OperationalError


def translated(conn: Connection, driver: Any, exc: Exception, sql: str) -> Exception:
    """``exc`` as SQLAlchemy's (IntegrityError, OperationalError, ...) when it is the driver's;
    a connection the database dropped is invalidated so that it is not used again."""
    dialect = conn.dialect
    base = dialect.loaded_dbapi.Error
    if not isinstance(exc, base):
        return exc
    dropped = dialect.is_disconnect(exc, driver, None)
    if dropped:
        conn.invalidate(exc)
    error: Exception = DBAPIError.instance(
        sql, None, exc, base, hide_parameters=True, connection_invalidated=dropped
    )
    return error


def reraise(error: Exception, cause: Exception) -> NoReturn:
    """Raise ``error`` (``translated(..., cause, ...)``) from ``cause``, or ``cause`` itself when it
    was not the driver's."""
    if error is cause:
        raise cause
    raise error from cause


def lost_race(exc: OperationalError) -> bool:
    """PostgreSQL's serialization_failure or deadlock_detected: run the transaction again."""
    return getattr(exc.orig, "sqlstate", None) in ("40001", "40P01")


def is_locked(exc: OperationalError) -> bool:
    """SQLite's database-locked or busy error."""
    text = str(exc.orig).lower()
    return "locked" in text or "busy" in text

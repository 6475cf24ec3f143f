"""The audit log table: insert only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from twostep.store import raw
from twostep.store.schema import audit_log

_INSERT = raw.Sql(
    "INSERT INTO audit_log (at, app_id, person_id, event, detail) VALUES (?, ?, ?, ?, ?)"
)


def insert_event(
    conn: Connection,
    *,
    at: datetime,
    event: str,
    app_id: int | None,
    person_id: int | None,
    detail: str | None,
) -> None:
    raw.later(conn, _INSERT, (raw.ts(conn, at), app_id, person_id, event, detail))


def recent(conn: Connection, limit: int = 100) -> list[Any]:
    return list(conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)).all())

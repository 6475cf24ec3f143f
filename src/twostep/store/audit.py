"""The audit log table: insert only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from twostep.store.schema import audit_log


def insert_event(
    conn: Connection,
    *,
    at: datetime,
    event: str,
    app_id: int | None,
    person_id: int | None,
    detail: str | None,
) -> None:
    conn.execute(
        insert(audit_log).values(
            at=at, app_id=app_id, person_id=person_id, event=event, detail=detail
        )
    )


def recent(conn: Connection, limit: int = 100) -> list[Any]:
    return list(conn.execute(select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)).all())

"""The delivery_attempts table: one row per attempt at delivering an outbox job; insert only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from twostep.store.schema import delivery_attempts


def insert_attempt(
    conn: Connection,
    *,
    outbox_id: int,
    attempt: int,
    at: datetime,
    provider: str,
    ok: bool,
    detail: str | None,
    duration_ms: int,
) -> None:
    conn.execute(
        insert(delivery_attempts).values(
            outbox_id=outbox_id,
            attempt=attempt,
            at=at,
            provider=provider,
            ok=ok,
            detail=detail,
            duration_ms=duration_ms,
        )
    )


def for_outbox(conn: Connection, outbox_id: int) -> list[Any]:
    """The attempts of one job, oldest first."""
    query = (
        select(delivery_attempts)
        .where(delivery_attempts.c.outbox_id == outbox_id)
        .order_by(delivery_attempts.c.attempt, delivery_attempts.c.id)
    )
    return list(conn.execute(query).all())

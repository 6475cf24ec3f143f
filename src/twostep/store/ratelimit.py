"""Sliding-window counters in the database, shared by every node."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, insert, select

from twostep.store.schema import rate_hits


def hit(conn: Connection, bucket: str, subject: str, at: datetime) -> None:
    conn.execute(insert(rate_hits).values(bucket=bucket, subject=subject, at=at))


def hits_since(
    conn: Connection, bucket: str, subject: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many hits since ``since``, and the oldest of them (when the window starts to free up)."""
    row = conn.execute(
        select(func.count(), func.min(rate_hits.c.at)).where(
            rate_hits.c.bucket == bucket, rate_hits.c.subject == subject, rate_hits.c.at > since
        )
    ).one()
    oldest = row[1]
    if isinstance(oldest, str):  # SQLite's min() bypasses the column type
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=since.tzinfo)
    return int(row[0]), oldest


def clear(conn: Connection, bucket: str, subject: str) -> None:
    conn.execute(
        delete(rate_hits).where(rate_hits.c.bucket == bucket, rate_hits.c.subject == subject)
    )


def forget_before(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(rate_hits).where(rate_hits.c.at < before)).rowcount

"""Sliding-window counters in the database, shared by every node. Hot path: raw SQL."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete

from twostep.store import raw
from twostep.store.schema import rate_hits

_HIT = raw.Sql("INSERT INTO rate_hits (bucket, subject, at) VALUES (?, ?, ?)")
_SINCE = raw.Sql(
    "SELECT count(*), min(at) FROM rate_hits WHERE bucket = ? AND subject = ? AND at > ?"
)
_CLEAR = raw.Sql("DELETE FROM rate_hits WHERE bucket = ? AND subject = ?")


def hit(conn: Connection, bucket: str, subject: str, at: datetime) -> None:
    raw.later(conn, _HIT, (bucket, subject, raw.ts(conn, at)))


def hits_since(
    conn: Connection, bucket: str, subject: str, since: datetime
) -> tuple[int, datetime | None]:
    """How many hits since ``since``, and the oldest of them (when the window starts to free up)."""
    row = raw.one(conn, _SINCE, (bucket, subject, raw.ts(conn, since)))
    assert row is not None
    return int(row[0]), raw.parse_ts(row[1])


def clear(conn: Connection, bucket: str, subject: str) -> None:
    raw.run(conn, _CLEAR, (bucket, subject))


def forget_before(conn: Connection, before: datetime) -> int:
    return conn.execute(delete(rate_hits).where(rate_hits.c.at < before)).rowcount

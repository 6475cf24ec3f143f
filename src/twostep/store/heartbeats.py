"""The worker_heartbeats table: one row per running worker (``host:pid``), refreshed every few
seconds, deleted when the worker stops cleanly; rows of crashed workers are pruned later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from twostep.store.schema import worker_heartbeats

t = worker_heartbeats


def beat(conn: Connection, name: str, *, now: datetime, started_at: datetime) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t).values(name=name, at=now, started_at=started_at)
    conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"at": now}))


def remove(conn: Connection, name: str) -> None:
    conn.execute(delete(t).where(t.c.name == name))


def last_beat(conn: Connection, name: str) -> datetime | None:
    at: datetime | None = conn.execute(select(t.c.at).where(t.c.name == name)).scalar()
    return at


def fresh(conn: Connection, since: datetime) -> tuple[int, datetime | None]:
    """How many workers beat since ``since``, and the latest beat of any worker."""
    count = conn.execute(select(func.count()).where(t.c.at >= since)).scalar_one()
    latest: datetime | None = conn.execute(select(func.max(t.c.at))).scalar()
    return int(count), latest


def prune(conn: Connection, before: datetime) -> int:
    return int(conn.execute(delete(t).where(t.c.at < before)).rowcount)

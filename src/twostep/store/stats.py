"""Monthly per-application counters (A2): atomic upsert-increments and reads, and the number of
registered users."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from twostep.store.schema import app_monthly_stats as stats
from twostep.store.schema import app_users, applications

Record = Any  # a SQLAlchemy Row: columns by attribute name

COUNTERS = ("api_calls", "auths", "sms", "calls", "users")


def increment(conn: Connection, app_id: int, year: int, month: int, deltas: dict[str, int]) -> None:
    """Add ``deltas`` (counter name → amount) to the month's row, creating it at zero first: one
    ``INSERT … ON CONFLICT DO UPDATE SET x = x + excluded.x`` on both databases, so concurrent
    increments from any node never lose each other's updates."""
    unknown = set(deltas) - set(COUNTERS)
    if unknown:
        raise ValueError(f"unknown counters: {sorted(unknown)}")
    values = {name: int(deltas.get(name, 0)) for name in COUNTERS}
    if not any(values.values()):
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(stats).values(app_id=app_id, year=year, month=month, **values)
    stmt = stmt.on_conflict_do_update(
        index_elements=["app_id", "year", "month"],
        set_={name: stats.c[name] + stmt.excluded[name] for name in COUNTERS if values[name]},
    )
    conn.execute(stmt)


def months(conn: Connection, app_id: int, wanted: list[tuple[int, int]]) -> list[Record]:
    """The rows that exist among the ``(year, month)`` pairs wanted."""
    if not wanted:
        return []
    query = select(stats).where(
        stats.c.app_id == app_id, tuple_(stats.c.year, stats.c.month).in_(wanted)
    )
    return list(conn.execute(query).all())


def registered_users(conn: Connection, app_id: int) -> int:
    """Users registered in the application and not deleted (pending purge excluded)."""
    query = select(func.count()).where(
        app_users.c.app_id == app_id, app_users.c.deleted_at.is_(None)
    )
    return int(conn.execute(query).scalar_one())


def existing_apps(conn: Connection, app_ids: list[int]) -> set[int]:
    """Which of ``app_ids`` still exist (counters of a deleted application are dropped)."""
    if not app_ids:
        return set()
    query = select(applications.c.id).where(applications.c.id.in_(app_ids))
    return {int(row.id) for row in conn.execute(query).all()}

"""Queries on applications and their API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Connection, bindparam, insert, select, update

from twostep.store import raw
from twostep.store.compiled import Compiled
from twostep.store.schema import api_keys, applications

Record = Any  # a SQLAlchemy Row: columns by attribute name


def insert_app(
    conn: Connection, *, public_id: str, name: str, settings: dict[str, Any], now: datetime
) -> int:
    result = conn.execute(
        insert(applications).values(
            public_id=public_id, name=name, settings=settings, created_at=now, updated_at=now
        )
    )
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def insert_key(
    conn: Connection, *, app_id: int, key_hash: bytes, serial: int, salt: bytes, now: datetime
) -> None:
    conn.execute(
        insert(api_keys).values(
            app_id=app_id, key_hash=key_hash, serial=serial, salt=salt, created_at=now
        )
    )


def expire_keys(conn: Connection, app_id: int, at: datetime) -> None:
    """Set an end to every key of the app that has none (rotation keeps a grace period)."""
    conn.execute(
        update(api_keys)
        .where(api_keys.c.app_id == app_id, api_keys.c.expires_at.is_(None))
        .values(expires_at=at)
    )


class AppRow(NamedTuple):
    id: int
    public_id: str
    name: str
    settings: dict[str, Any]
    created_at: datetime
    key_expires_at: datetime | None = None


_BY_KEY = raw.Sql(
    "SELECT a.id, a.public_id, a.name, a.settings, a.created_at, k.expires_at FROM api_keys k "
    "JOIN applications a ON a.id = k.app_id "
    "WHERE k.key_hash = ? AND (k.expires_at IS NULL OR k.expires_at > ?)"
)


def app_by_key_hash(conn: Connection, key_hash: bytes, now: datetime) -> AppRow | None:
    """The application an API key belongs to (hot path: every request)."""
    row = raw.one(conn, _BY_KEY, (key_hash, raw.ts(conn, now)))
    if row is None:
        return None
    created = raw.parse_ts(row[4])
    assert created is not None
    return AppRow(row[0], row[1], row[2], raw.parse_json(row[3]), created, raw.parse_ts(row[5]))


def current_key(conn: Connection, app_id: int) -> Record | None:
    return conn.execute(
        select(api_keys.c.serial, api_keys.c.salt)
        .where(api_keys.c.app_id == app_id, api_keys.c.expires_at.is_(None))
        .order_by(api_keys.c.serial.desc())
        .limit(1)
    ).first()


def max_serial(conn: Connection, app_id: int) -> int:
    rows = conn.execute(select(api_keys.c.serial).where(api_keys.c.app_id == app_id)).scalars()
    return max(rows, default=0)


_APP_BY_ID = Compiled(select(applications).where(applications.c.id == bindparam("app_id")))


def app_by_id(conn: Connection, app_id: int) -> Record | None:
    return _APP_BY_ID.first(conn, app_id=app_id)


def apps_by_name(conn: Connection, name: str) -> list[Record]:
    return list(conn.execute(select(applications).where(applications.c.name == name)).all())


def all_apps(conn: Connection) -> list[Record]:
    return list(conn.execute(select(applications).order_by(applications.c.id)).all())


def update_app(
    conn: Connection, app_id: int, *, name: str, settings: dict[str, Any], now: datetime
) -> None:
    conn.execute(
        update(applications)
        .where(applications.c.id == app_id)
        .values(name=name, settings=settings, updated_at=now)
    )

"""Queries on phone verifications (Verify v1): one row per (application, number)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from twostep.store.schema import phone_verifications as pv

Record = Any  # a SQLAlchemy Row: columns by attribute name


def replace(
    conn: Connection,
    *,
    app_id: int,
    e164: str,
    uuid: str,
    via: str,
    locale: str,
    digest: bytes,
    now: datetime,
    expires_at: datetime,
) -> None:
    """Start a verification of ``e164``, replacing whatever was there (pending, verified or
    failed) in one atomic upsert, so concurrent starts cannot collide on the unique key."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    fresh = {
        "uuid": uuid,
        "via": via,
        "locale": locale,
        "digest": digest,
        "attempts": 0,
        "status": "pending",
        "created_at": now,
        "expires_at": expires_at,
        "verified_at": None,
    }
    stmt = dialect.insert(pv).values(app_id=app_id, e164=e164, **fresh)
    stmt = stmt.on_conflict_do_update(index_elements=["app_id", "e164"], set_=fresh)
    conn.execute(stmt)


def find(conn: Connection, app_id: int, e164: str, *, for_update: bool = False) -> Record | None:
    """The verification of ``e164`` in the application, optionally row-locked (PostgreSQL) so
    concurrent checks of one number queue up instead of racing the attempts counter."""
    query = select(
        pv.c.id,
        pv.c.uuid,
        pv.c.via,
        pv.c.digest,
        pv.c.attempts,
        pv.c.status,
        pv.c.created_at,
        pv.c.expires_at,
        pv.c.verified_at,
    ).where(pv.c.app_id == app_id, pv.c.e164 == e164)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def mark_verified(conn: Connection, verification_id: int, now: datetime) -> bool:
    """Compare-and-set pending → verified; False if another check got there first."""
    result = conn.execute(
        update(pv)
        .where(pv.c.id == verification_id, pv.c.status == "pending")
        .values(status="verified", verified_at=now)
    )
    return result.rowcount == 1


def count_wrong_attempt(conn: Connection, verification_id: int, max_attempts: int) -> int:
    """Add one wrong check; the verification fails once ``max_attempts`` is reached. Returns the
    new number of wrong checks."""
    conn.execute(
        update(pv)
        .where(pv.c.id == verification_id, pv.c.status == "pending")
        .values(attempts=pv.c.attempts + 1)
    )
    attempts = int(
        conn.execute(select(pv.c.attempts).where(pv.c.id == verification_id)).scalar_one()
    )
    if attempts >= max_attempts:
        conn.execute(
            update(pv)
            .where(pv.c.id == verification_id, pv.c.status == "pending")
            .values(status="failed")
        )
    return attempts


def delete_stale(conn: Connection, before: datetime) -> int:
    """Forget verifications that expired before ``before`` (whatever their outcome)."""
    return conn.execute(delete(pv).where(pv.c.expires_at < before)).rowcount

"""Queries on device enrolments (by PIN or by link) and the person lookup they start from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from twostep.store.schema import enrollments, persons

Record = Any


def person_id_by_e164(conn: Connection, e164: str) -> int | None:
    found = conn.execute(select(persons.c.id).where(persons.c.e164 == e164)).scalar()
    return int(found) if found is not None else None


def insert_enrollment(conn: Connection, **values: Any) -> int:
    result = conn.execute(insert(enrollments).values(attempts=0, **values))
    assert result.inserted_primary_key is not None
    return int(result.inserted_primary_key[0])


def by_public_id(conn: Connection, public_id: str, *, for_update: bool = False) -> Record | None:
    query = select(enrollments).where(enrollments.c.public_id == public_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).first()


def count_attempt(conn: Connection, enrollment_id: int, max_attempts: int) -> int | None:
    """Use up one PIN attempt of a started enrolment (atomically, so parallel guesses cannot go
    past the limit); the attempts used so far, or None when none is left."""
    result = conn.execute(
        update(enrollments)
        .where(
            enrollments.c.id == enrollment_id,
            enrollments.c.status == "started",
            enrollments.c.attempts < max_attempts,
        )
        .values(attempts=enrollments.c.attempts + 1)
    )
    if result.rowcount != 1:
        return None
    used = conn.execute(
        select(enrollments.c.attempts).where(enrollments.c.id == enrollment_id)
    ).scalar_one()
    return int(used)


def move(conn: Connection, enrollment_id: int, from_status: str, **values: Any) -> bool:
    """Change an enrolment that is still in ``from_status``; False if it moved on meanwhile."""
    result = conn.execute(
        update(enrollments)
        .where(enrollments.c.id == enrollment_id, enrollments.c.status == from_status)
        .values(**values)
    )
    return result.rowcount == 1


def awaiting_approval(conn: Connection, person_id: int) -> list[Record]:
    return list(
        conn.execute(
            select(enrollments)
            .where(
                enrollments.c.person_id == person_id,
                enrollments.c.status == "pending_approval",
            )
            .order_by(enrollments.c.id.desc())
        ).all()
    )


def due(conn: Connection, now: datetime, limit: int = 500) -> list[Record]:
    """Enrolments awaiting approval whose recovery period has passed."""
    return list(
        conn.execute(
            select(enrollments)
            .where(
                enrollments.c.status == "pending_approval",
                enrollments.c.activates_at <= now,
            )
            .order_by(enrollments.c.id)
            .limit(limit)
        ).all()
    )

"""Queries on OneTouch approval requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, func, insert, or_, select, update

from twostep.store.schema import app_users, applications, approval_requests

Record = Any


def insert_request(conn: Connection, **values: Any) -> None:
    conn.execute(insert(approval_requests).values(**values))


def by_uuid(conn: Connection, uuid: str, *, for_update: bool = False) -> Record | None:
    """The request with its application's name and public id and the user's email and public id
    (null once the user's registration was purged)."""
    query = (
        select(
            approval_requests,
            applications.c.name.label("app_name"),
            applications.c.public_id.label("app_public_id"),
            app_users.c.email.label("user_email"),
            app_users.c.public_id.label("user_public_id"),
        )
        .join(applications, applications.c.id == approval_requests.c.app_id)
        .outerjoin(
            app_users,
            and_(
                app_users.c.app_id == approval_requests.c.app_id,
                app_users.c.person_id == approval_requests.c.person_id,
            ),
        )
        .where(approval_requests.c.uuid == uuid)
    )
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update(of=approval_requests)
    return conn.execute(query).first()


def pending_for_person(conn: Connection, person_id: int, now: datetime) -> list[Record]:
    return list(
        conn.execute(
            select(
                approval_requests,
                applications.c.name.label("app_name"),
                applications.c.public_id.label("app_public_id"),
            )
            .join(applications, applications.c.id == approval_requests.c.app_id)
            .where(
                approval_requests.c.person_id == person_id,
                approval_requests.c.status == "pending",
                or_(approval_requests.c.expires_at.is_(None), approval_requests.c.expires_at > now),
            )
            .order_by(approval_requests.c.id.desc())
        ).all()
    )


def count_pending(conn: Connection, app_id: int, person_id: int, now: datetime) -> int:
    return int(
        conn.execute(
            select(func.count()).where(
                approval_requests.c.app_id == app_id,
                approval_requests.c.person_id == person_id,
                approval_requests.c.status == "pending",
                or_(approval_requests.c.expires_at.is_(None), approval_requests.c.expires_at > now),
            )
        ).scalar_one()
    )


def decide(conn: Connection, request_id: int, **values: Any) -> bool:
    """Move a pending request to a final status; False if it is no longer pending."""
    result = conn.execute(
        update(approval_requests)
        .where(approval_requests.c.id == request_id, approval_requests.c.status == "pending")
        .values(**values)
    )
    return result.rowcount == 1


def set_notified(conn: Connection, uuid: str, now: datetime) -> None:
    conn.execute(
        update(approval_requests)
        .where(approval_requests.c.uuid == uuid, approval_requests.c.notified.is_(False))
        .values(notified=True, updated_at=now)
    )


def expire_due(conn: Connection, now: datetime, limit: int = 1000) -> list[Record]:
    """Mark pending requests whose time is up as expired; returns (uuid, person_id) of each."""
    due = list(
        conn.execute(
            select(
                approval_requests.c.id,
                approval_requests.c.uuid,
                approval_requests.c.person_id,
                approval_requests.c.expires_at,
            )
            .where(
                approval_requests.c.status == "pending",
                and_(
                    approval_requests.c.expires_at.is_not(None),
                    approval_requests.c.expires_at <= now,
                ),
            )
            .limit(limit)
        ).all()
    )
    for row in due:
        conn.execute(
            update(approval_requests)
            .where(approval_requests.c.id == row.id, approval_requests.c.status == "pending")
            .values(status="expired", processed_at=row.expires_at, updated_at=now)
        )
    return due

"""Queries on OneTouch approval requests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, exists, func, insert, or_, select, update

from twostep.store import batching
from twostep.store.compiled import Compiled
from twostep.store.schema import app_users, applications, approval_requests, device_seeds
from twostep.store.types import UTCDateTime

Record = Any


_INSERT_COLUMNS = (
    "uuid",
    "public_id",
    "app_id",
    "person_id",
    "message",
    "details",
    "hidden_details",
    "logos",
    "seconds_to_expire",
    "expires_at",
    "status",
    "notified",
    "number_match",
    "number_choices",
    "created_at",
    "updated_at",
)
_INSERT = Compiled(insert(approval_requests).values({c: bindparam(c) for c in _INSERT_COLUMNS}))


def _by_uuid(for_update: bool, *, for_device: bool = False) -> Compiled:
    """The request with its application's name, public id and settings and the user's email and
    public id (null once the user's registration was purged); ``for_device``: and whether the
    device ``device_id`` serves the application (holds a seed for it that was not revoked)."""
    columns: list[Any] = [
        approval_requests,
        applications.c.name.label("app_name"),
        applications.c.public_id.label("app_public_id"),
        applications.c.settings.label("app_settings"),
        app_users.c.email.label("user_email"),
        app_users.c.public_id.label("user_public_id"),
    ]
    if for_device:
        serves = exists().where(
            device_seeds.c.device_id == bindparam("device_id"),
            device_seeds.c.app_id == approval_requests.c.app_id,
            device_seeds.c.revoked_at.is_(None),
        )
        columns.append(serves.label("device_serves_app"))
    query = (
        select(*columns)
        .join(applications, applications.c.id == approval_requests.c.app_id)
        .outerjoin(
            app_users,
            and_(
                app_users.c.app_id == approval_requests.c.app_id,
                app_users.c.person_id == approval_requests.c.person_id,
            ),
        )
        .where(approval_requests.c.uuid == bindparam("uuid"))
    )
    if not for_update:
        return Compiled(query)
    # SQLite has no row locks: its writers are serialized already (store/db.py)
    return Compiled(
        lambda dialect: (
            query.with_for_update(of=approval_requests) if dialect == "postgresql" else query
        )
    )


_BY_UUID = _by_uuid(for_update=False)
_BY_UUID_FOR_UPDATE = _by_uuid(for_update=True)
_FOR_ANSWER = _by_uuid(for_update=True, for_device=True)
_DECIDE_COLUMNS = (
    "status",
    "processed_at",
    "updated_at",
    "device_id",
    "reason",
    "signed_at",
    "device_signature",
    "shown_digest",
)
_DECIDE = Compiled(
    update(approval_requests)
    .where(
        approval_requests.c.id == bindparam("request_id"), approval_requests.c.status == "pending"
    )
    .values({c: bindparam(c) for c in _DECIDE_COLUMNS})
)


def insert_request(conn: Connection, **values: Any) -> None:
    _INSERT.later(conn, **values)  # uuid and public id are random: nothing to catch


def by_uuid(conn: Connection, uuid: str, *, for_update: bool = False) -> Record | None:
    """The request with its application's name and public id and the user's email and public id
    (null once the user's registration was purged); locked for update on PostgreSQL."""
    return (_BY_UUID_FOR_UPDATE if for_update else _BY_UUID).first(conn, uuid=uuid)


def for_answer(conn: Connection, uuid: str, device_id: int) -> Record | None:
    """``by_uuid`` locked for update, with ``device_serves_app``: one query for a device's answer."""
    return _FOR_ANSWER.first(conn, uuid=uuid, device_id=device_id)


def _live(*conditions: Any) -> Any:
    return and_(
        *conditions,
        approval_requests.c.status == "pending",
        or_(
            approval_requests.c.expires_at.is_(None),
            approval_requests.c.expires_at > bindparam("now", type_=UTCDateTime),
        ),
    )


_PENDING_FOR_PERSON = Compiled(
    select(
        approval_requests,
        applications.c.name.label("app_name"),
        applications.c.public_id.label("app_public_id"),
    )
    .join(applications, applications.c.id == approval_requests.c.app_id)
    .where(_live(approval_requests.c.person_id == bindparam("person_id")))
    .order_by(approval_requests.c.id.desc())
)
_COUNT_PENDING = Compiled(
    select(func.count().label("pending")).where(
        _live(
            approval_requests.c.app_id == bindparam("app_id"),
            approval_requests.c.person_id == bindparam("person_id"),
        )
    )
)


def pending_for_person(conn: Connection, person_id: int, now: datetime) -> list[Record]:
    return _PENDING_FOR_PERSON.rows(conn, person_id=person_id, now=now)


def count_pending(conn: Connection, app_id: int, person_id: int, now: datetime) -> int:
    return int(_COUNT_PENDING.scalars(conn, app_id=app_id, person_id=person_id, now=now)[0])


def decide(conn: Connection, request_id: int, **values: Any) -> bool:
    """Move a pending request, read by ``for_answer`` in this transaction, to a final status
    (every column of ``_DECIDE_COLUMNS``); False if it is no longer pending. On PostgreSQL that
    read locked the row, and a row read for update is its latest version (the transaction that
    changed it committed first), so a request read as pending stays pending until this
    transaction ends: in a batched transaction the update is held back."""
    if batching.pending(conn) is not None:
        _DECIDE.later(conn, request_id=request_id, **values)
        return True
    return _DECIDE.run(conn, request_id=request_id, **values) == 1


def as_decided(row: Record, **values: Any) -> Record:
    """A row read by ``by_uuid`` as ``decide`` with these values left it (no second read)."""
    if set(values) != set(_DECIDE_COLUMNS):
        raise ValueError("decide sets every column of _DECIDE_COLUMNS")
    return row._replace(**values)


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

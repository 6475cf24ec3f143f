"""The outbox table: enqueue in the caller's transaction; claim with a lease (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the write lock on SQLite); complete, retry later, or give up (dead)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, or_, select, update

from twostep.store.compiled import Compiled
from twostep.store.schema import dev_messages, outbox
from twostep.store.upsert import insert_ignore

Record = Any

PENDING, DONE, DEAD = "pending", "done", "dead"


_ENQUEUE_COLUMNS = (
    "kind",
    "app_id",
    "idempotency_key",
    "payload",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
    "updated_at",
)
_ENQUEUE = Compiled(insert(outbox).values({c: bindparam(c) for c in _ENQUEUE_COLUMNS}))


def enqueue(
    conn: Connection,
    *,
    kind: str,
    app_id: int | None,
    idempotency_key: str,
    payload: str,
    now: datetime,
    not_before: datetime | None = None,
) -> None:
    """Queue a job, sent with the transaction's next statement (raw.later): the caller knows it
    by its idempotency key."""
    _ENQUEUE.later(
        conn,
        kind=kind,
        app_id=app_id,
        idempotency_key=idempotency_key,
        payload=payload,
        status=PENDING,
        attempts=0,
        next_attempt_at=not_before or now,
        created_at=now,
        updated_at=now,
    )


def claim(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[Record]:
    """Lease up to ``limit`` due jobs to the caller. A job whose lease ran out (its worker died) is
    due again: delivery is at least once."""
    due = (
        select(outbox.c.id)
        .where(
            outbox.c.status == PENDING,
            outbox.c.next_attempt_at <= now,
            or_(outbox.c.lease_until.is_(None), outbox.c.lease_until < now),
        )
        .order_by(outbox.c.next_attempt_at)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = [row.id for row in conn.execute(due).all()]
    if not ids:
        return []
    conn.execute(
        update(outbox)
        .where(outbox.c.id.in_(ids))
        .values(lease_until=now + lease, attempts=outbox.c.attempts + 1, updated_at=now)
    )
    return list(
        conn.execute(select(outbox).where(outbox.c.id.in_(ids)).order_by(outbox.c.id)).all()
    )


def complete(conn: Connection, job_id: int, *, now: datetime, provider: str) -> None:
    """Delivered: keep the row for the record, drop the payload (it may hold a code)."""
    conn.execute(
        update(outbox)
        .where(outbox.c.id == job_id)
        .values(
            status=DONE,
            payload="",
            lease_until=None,
            delivered_at=now,
            updated_at=now,
            provider=provider,
            last_error=None,
        )
    )


def reschedule(conn: Connection, job_id: int, *, now: datetime, at: datetime, error: str) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == job_id)
        .values(next_attempt_at=at, lease_until=None, last_error=error[:1000], updated_at=now)
    )


def bury(conn: Connection, job_id: int, *, now: datetime, error: str) -> None:
    conn.execute(
        update(outbox)
        .where(outbox.c.id == job_id)
        .values(status=DEAD, lease_until=None, last_error=error[:1000], updated_at=now)
    )


def jobs(
    conn: Connection, *, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[Record]:
    query = select(outbox).order_by(outbox.c.id.desc()).limit(limit)
    if status:
        query = query.where(outbox.c.status == status)
    if kind:
        query = query.where(outbox.c.kind == kind)
    return list(conn.execute(query).all())


def retry_dead(conn: Connection, job_id: int, now: datetime) -> bool:
    result = conn.execute(
        update(outbox)
        .where(outbox.c.id == job_id, outbox.c.status == DEAD)
        .values(status=PENDING, next_attempt_at=now, attempts=0, updated_at=now)
    )
    return result.rowcount == 1


def depth(conn: Connection, now: datetime) -> tuple[int, datetime | None]:
    """Pending jobs and the creation time of the oldest (for metrics and readiness)."""
    row = conn.execute(
        select(func.count(), func.min(outbox.c.created_at)).where(outbox.c.status == PENDING)
    ).one()
    oldest = row[1]
    if isinstance(oldest, str):
        oldest = datetime.fromisoformat(oldest).replace(tzinfo=now.tzinfo)
    return int(row[0]), oldest


def stats_by_kind(conn: Connection) -> list[tuple[str, str, int, Any, Any]]:
    """For metrics: per kind and status (pending, dead), the number of jobs, the oldest creation
    time and the earliest due time. One grouped query over the (status, …) index."""
    query = (
        select(
            outbox.c.kind,
            outbox.c.status,
            func.count(),
            func.min(outbox.c.created_at),
            func.min(outbox.c.next_attempt_at),
        )
        .where(outbox.c.status.in_((PENDING, DEAD)))
        .group_by(outbox.c.kind, outbox.c.status)
    )
    return [(r[0], r[1], int(r[2]), r[3], r[4]) for r in conn.execute(query).all()]


def record_dev_message(
    conn: Connection,
    *,
    channel: str,
    recipient: str,
    subject: str | None,
    body: str,
    code: str | None,
    idempotency_key: str,
    now: datetime,
) -> bool:
    """What the development provider "sent"; a repeated delivery of one job is recorded once."""
    return insert_ignore(
        conn,
        dev_messages,
        {
            "channel": channel,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "code": code,
            "idempotency_key": idempotency_key,
            "created_at": now,
        },
        ["idempotency_key"],
    )


def dev_messages_for(conn: Connection, recipient: str | None, limit: int = 50) -> list[Record]:
    query = select(dev_messages).order_by(dev_messages.c.id.desc()).limit(limit)
    if recipient:
        query = query.where(dev_messages.c.recipient == recipient)
    return list(conn.execute(query).all())

"""The outbox seen from the worker and from operators: claim jobs, record their outcome, list them,
and the development provider's record of what was "sent"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from twostep.services.outbox import open_payload
from twostep.services.runtime import Runtime, Tx
from twostep.store import outbox as q


@dataclass(frozen=True, slots=True)
class Job:
    id: int
    kind: str
    app_id: int | None
    idempotency_key: str
    attempts: int
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DevMessage:
    id: int
    channel: str
    to: str
    subject: str | None
    body: str
    code: str | None
    idempotency_key: str
    created_at: datetime

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "channel": self.channel,
            "to": self.to,
            "subject": self.subject,
            "body": self.body,
            "code": self.code,
            "idempotency_key": self.idempotency_key,
            "created_at": self.created_at.isoformat(),
        }


def claim(rt: Runtime, limit: int) -> list[Job]:
    lease = timedelta(seconds=rt.settings.outbox_lease_seconds)
    rows = rt.run(lambda tx: q.claim(tx.conn, tx.now, lease, limit))
    return [
        Job(
            r.id,
            r.kind,
            r.app_id,
            r.idempotency_key,
            r.attempts,
            open_payload(rt, r.idempotency_key, r.payload),
        )
        for r in rows
    ]


def succeeded(tx: Tx, job: Job, provider: str) -> None:
    q.complete(tx.conn, job.id, now=tx.now, provider=provider)


def failed(tx: Tx, job: Job, error: str, *, retry_in: float | None) -> None:
    """Try again in ``retry_in`` seconds, or (None) give up: the job becomes dead."""
    if retry_in is None:
        q.bury(tx.conn, job.id, now=tx.now, error=error)
    else:
        q.reschedule(
            tx.conn, job.id, now=tx.now, at=tx.now + timedelta(seconds=retry_in), error=error
        )


def record_dev_message(tx: Tx, job: Job, channel: str) -> None:
    p = job.payload
    body = p.get("body") or p.get("text") or ""
    q.record_dev_message(
        tx.conn,
        channel=channel,
        recipient=p.get("to", ""),
        subject=p.get("subject"),
        body=body,
        code=p.get("code"),
        idempotency_key=job.idempotency_key,
        now=tx.now,
    )


def dev_messages(tx: Tx, to: str | None = None, limit: int = 50) -> list[DevMessage]:
    return [
        DevMessage(
            r.id, r.channel, r.recipient, r.subject, r.body, r.code, r.idempotency_key, r.created_at
        )
        for r in q.dev_messages_for(tx.conn, to, limit)
    ]


def list_jobs(
    tx: Tx, *, status: str | None = None, kind: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "app_id": r.app_id,
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": r.next_attempt_at.isoformat(),
            "last_error": r.last_error,
            "provider": r.provider,
            "idempotency_key": r.idempotency_key,
            "created_at": r.created_at.isoformat(),
        }
        for r in q.jobs(tx.conn, status=status, kind=kind, limit=limit)
    ]


def retry_dead(tx: Tx, job_id: int) -> bool:
    return q.retry_dead(tx.conn, job_id, tx.now)

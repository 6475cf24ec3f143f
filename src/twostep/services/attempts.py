"""The history of an outbox job's deliveries: one record per attempt (who was tried, whether it
worked, how long it took). Details are short reasons that never hold a secret."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from twostep.services.runtime import Tx
from twostep.store import attempts as q

MAX_PROVIDER = 32  # the column's width
MAX_DETAIL = 500


@dataclass(frozen=True, slots=True)
class Attempt:
    attempt: int
    at: datetime
    provider: str
    ok: bool
    detail: str | None
    duration_ms: int

    def as_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "at": self.at.isoformat(),
            "provider": self.provider,
            "ok": self.ok,
            "detail": self.detail,
            "duration_ms": self.duration_ms,
        }


def record(  # noqa: PLR0917 - one value per column, in the table's order
    tx: Tx,
    job_id: int,
    attempt: int,
    provider: str,
    ok: bool,
    detail: str | None,
    duration_ms: int,
) -> None:
    q.insert_attempt(
        tx.conn,
        outbox_id=job_id,
        attempt=attempt,
        at=tx.now,
        provider=provider[:MAX_PROVIDER],
        ok=ok,
        detail=detail[:MAX_DETAIL] if detail else detail,
        duration_ms=max(0, int(duration_ms)),
    )


def for_job(tx: Tx, job_id: int) -> list[Attempt]:
    """Every recorded attempt of a job, oldest first."""
    return [
        Attempt(r.attempt, r.at, r.provider, r.ok, r.detail, r.duration_ms)
        for r in q.for_outbox(tx.conn, job_id)
    ]

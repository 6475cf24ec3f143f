"""The append-only audit log of security events (verifications, approvals, key and admin actions).
Never given a secret: details are short, non-sensitive strings."""

from __future__ import annotations

from twostep.services.runtime import Tx
from twostep.store import audit as q


def record(
    tx: Tx,
    event: str,
    *,
    app_id: int | None = None,
    person_id: int | None = None,
    detail: str | None = None,
) -> None:
    q.insert_event(
        tx.conn, at=tx.now, event=event, app_id=app_id, person_id=person_id, detail=detail
    )

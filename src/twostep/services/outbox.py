"""Queue work that must happen (a message, a push, a callback) in the caller's transaction. The
payload is sealed: it may hold a one-time code or a customer's callback data."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

import orjson

from twostep.services.runtime import Runtime, Tx
from twostep.store import outbox as q

OUTBOX_TOPIC = "outbox"


def new_key(prefix: str = "") -> str:
    return prefix + secrets.token_hex(16)


def _aad(idempotency_key: str) -> str:
    return f"outbox:{idempotency_key}"


def enqueue(
    tx: Tx,
    kind: str,
    payload: dict[str, Any],
    *,
    app_id: int | None = None,
    idempotency_key: str | None = None,
    not_before: datetime | None = None,
) -> str:
    key = idempotency_key or new_key()
    sealed = tx.keyring.seal(orjson.dumps(payload), _aad(key))
    q.enqueue(
        tx.conn,
        kind=kind,
        app_id=app_id,
        idempotency_key=key,
        payload=sealed,
        now=tx.now,
        not_before=not_before,
    )
    tx.announce(OUTBOX_TOPIC)  # wakes workers on every node once this commits
    return key


def open_payload(rt: Runtime, idempotency_key: str, sealed: str) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(rt.keyring.open(sealed, _aad(idempotency_key)))
    return data
